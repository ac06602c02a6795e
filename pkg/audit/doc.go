// Package audit answers the XZ question for a dist tarball: which of its
// members are not in the release's git tree, and where each of those
// came from. A member only in the dist tarball is regenerated (the
// re-created tarball has the same bytes), copied from a pinned input
// (the same bytes as the file at the same path in the input's checkout,
// e.g. gnulib's m4/ at the recipe's gnulib commit), a known generated file
// that differs from the re-created one, a copy of an input file that
// differs from it (shown with the changed lines and both m4 serial
// lines), or unexplained. The last two are what a human must look at:
// the XZ backdoor was an m4/build-to-host.m4 that differed from gnulib's
// and carried a higher serial.
package audit
