// Package digest computes the content digests verify-release compares:
// the hex SHA-256 of a file, read as a stream that stops when its context
// is done.
package digest
