// Package sign verifies and makes detached OpenPGP signatures against an
// explicit keyring and list of accepted fingerprints, without a web of trust.
package sign
