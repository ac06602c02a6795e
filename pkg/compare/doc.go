// Package compare checks that artifacts built in different jobs or
// environments (directories holding files of the same names) are
// identical, and explains each disagreement with a per-member tar diff.
package compare
