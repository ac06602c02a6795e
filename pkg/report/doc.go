// Package report defines the result of a verify-release run (report.json,
// schema documented in docs/report.md) and reads and writes it.
package report
