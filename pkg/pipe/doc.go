// Package pipe tunes the OS pipes between this process and the child
// processes it streams from (git cat-file, xz).
package pipe
