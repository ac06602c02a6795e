// Package owner names the process that owns a resource left on the machine
// (a build container, a temporary directory) and tells whether that
// process is certainly gone, so leftovers of a crashed run can be removed
// without ever touching a live run's.
package owner
