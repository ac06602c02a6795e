// Package runner re-creates every artifact of a recipe in its pinned
// environment, compares the bytes with the expected digests, and on a
// mismatch diffs the re-created tarball against the published copy.
package runner
