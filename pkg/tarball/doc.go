// Package tarball reads, compares, normalizes and checksums compressed tar archives as streams.
package tarball
