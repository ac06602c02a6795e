// Package debian reads a Debian (or Ubuntu) archive as data: signed
// InRelease files verified against a distribution keyring, the Packages
// indexes they list (checked by size and SHA-256), and pool files (.deb,
// orig tarballs) fetched into a content-addressed cache and checked by
// SHA-256 before anyone sees them.
//
// The chain of trust is the archive's own: the archive key signs
// InRelease; InRelease lists the SHA-256 of every index; each index lists
// the SHA-256 of every pool file. A break anywhere is an error naming the
// file. No Docker, no exec: importable by any package that needs facts
// about the archive.
//
// Mirrors default per distribution (DefaultMirror) and are overridable,
// because auditors run local mirrors. With a snapshot timestamp the
// snapshot archive is asked as well (SnapshotURL).
package debian
