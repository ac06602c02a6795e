// Package engine runs commands in an isolated build environment: a Docker container or a temporary directory on the host.
package engine
