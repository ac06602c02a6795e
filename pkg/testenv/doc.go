// Package testenv builds real container images and serves them from an in-process registry for tests that need a pinned build environment.
package testenv
