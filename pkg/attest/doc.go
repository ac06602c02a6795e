// Package attest builds, writes and verifies in-toto statements (SLSA
// verification summaries and provenance) describing a verify-release run.
package attest
