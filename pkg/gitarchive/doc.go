// Package gitarchive writes byte-exact equivalents of `git archive --format=tar` tarballs, optionally compressed, from objects read through the git binary.
package gitarchive
