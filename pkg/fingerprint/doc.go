// Package fingerprint reads the evidence a release tarball carries about how it was made (generator versions in its members, distribution build suffixes, how the archive and its compression were written) and ranks the build environments that could have made it.
package fingerprint
