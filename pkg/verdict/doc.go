// Package verdict decides whether a re-created artifact reproduces, is equivalent to, or differs from the published one, from the classified per-member diff and a recipe's [[accept]] entries, each accepted difference with its reason.
package verdict
