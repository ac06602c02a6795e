package fingerprint

// Known is the shipped table of environments the mirror cannot serve:
// Debian releases moved to archive.debian.org and other distributions.
// Each entry lists only the versions its Source publishes, for the
// packages environments are ranked on; a package it does not list is
// compared as "unknown", never guessed. Suites the Debian mirror serves
// (DebianSuites) are read from the archive instead (DebianEnvironments).
//
// Versions were taken from the distributions' package pages named in
// Source (packages.debian.org for Debian, packages.ubuntu.com for Ubuntu,
// packages.trisquel.org for Trisquel), i.e. the version each release
// shipped; none could be fetched from the machine this table was written
// on, which reaches only deb.debian.org. They agree with the libtool
// suffixes real tarballs carry: libntlm 1.6 ("2.4.6 Debian-2.4.6-9",
// Debian 10) and libntlm 1.8 ("2.4.6 Debian-2.4.6-15build2", Ubuntu 22.04
// and Trisquel 11, which reproduce its dist tarball alike).
func Known() []Environment {
	return []Environment{
		{
			Name: "Debian 10 (buster)", Distro: "debian", Suite: "buster",
			Source: "https://packages.debian.org/buster/ (archived: http://archive.debian.org/debian/dists/buster/)",
			Packages: map[string]string{
				"autoconf": "2.69-11", "automake": "1:1.16.1-4", "libtool": "2.4.6-9",
				"gettext": "0.19.8.1-9", "texinfo": "6.5.0.dfsg.1-4", "bison": "2:3.3.2.dfsg-1", "flex": "2.6.4-6.2",
			},
		},
		{
			Name: "Debian 9 (stretch)", Distro: "debian", Suite: "stretch",
			Source: "https://packages.debian.org/stretch/ (archived: http://archive.debian.org/debian/dists/stretch/)",
			Packages: map[string]string{
				"autoconf": "2.69-10", "automake": "1:1.15-6", "libtool": "2.4.6-2",
				"gettext": "0.19.8.1-2", "texinfo": "6.3.0.dfsg.1-1", "flex": "2.6.1-1.3",
			},
		},
		{
			Name: "Ubuntu 24.04 (noble)", Distro: "ubuntu", Suite: "noble",
			Source: "https://packages.ubuntu.com/noble/ (release pocket)",
			Packages: map[string]string{
				"autoconf": "2.71-3", "automake": "1:1.16.5-1.3ubuntu1", "libtool": "2.4.7-7build1",
				"gettext": "0.21-14ubuntu2", "texinfo": "7.1-3build2", "bison": "2:3.8.2+dfsg-1build2",
			},
		},
		{
			Name: "Ubuntu 22.04 (jammy)", Distro: "ubuntu", Suite: "jammy",
			Source: "https://packages.ubuntu.com/jammy/ (release pocket)",
			Packages: map[string]string{
				"autoconf": "2.71-2", "automake": "1:1.16.5-1.3", "libtool": "2.4.6-15build2",
				"gettext": "0.21-4ubuntu4", "texinfo": "6.8-4build1", "bison": "2:3.8.2+dfsg-1build1",
			},
		},
		{
			Name: "Ubuntu 20.04 (focal)", Distro: "ubuntu", Suite: "focal",
			Source: "https://packages.ubuntu.com/focal/ (release pocket)",
			Packages: map[string]string{
				"autoconf": "2.69-11.1", "automake": "1:1.16.1-4ubuntu6", "libtool": "2.4.6-14",
				"gettext": "0.19.8.1-10build1", "texinfo": "6.7.0.dfsg.2-5", "bison": "2:3.5.1+dfsg-1",
			},
		},
		{
			Name: "Trisquel 11 (aramo)", Distro: "trisquel", Suite: "aramo",
			Source: "https://packages.trisquel.org/aramo/ (Ubuntu 22.04's autotools packages, unchanged)",
			Packages: map[string]string{
				"autoconf": "2.71-2", "automake": "1:1.16.5-1.3", "libtool": "2.4.6-15build2",
			},
		},
	}
}
