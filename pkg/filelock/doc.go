// Package filelock serialises processes that share a cache entry with
// advisory flock(2) locks on a lock file.
package filelock
