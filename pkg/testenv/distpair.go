package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// libntlm 1.6's dist tarball as Debian bookworm ships it (sha256 from
// bookworm's Sources index). Its tar stream is re-made byte for byte by
//
//	tar -tzf libntlm_1.6.orig.tar.gz > list
//	tar --format=v7 --owner=0 --group=0 --numeric-owner --no-recursion -T list -cf - | cmp - <(zcat libntlm_1.6.orig.tar.gz)
//
// (checked by hand), so a re-tar of a changed tree differs by exactly the
// changes made.
const (
	Libntlm16Pool   = "main/libn/libntlm/libntlm_1.6.orig.tar.gz"
	Libntlm16SHA256 = "f2376b87b06d8755aa3498bb1226083fdb1d2cf4460c3982b05a9aa0b51d6821"
)

// Libntlm16Changed unpacks the real libntlm 1.6 dist tarball into dir
// and re-tars it with GNU tar and gzip -9n after the changes in script
// (sh, run in dir, with the tree in libntlm-1.6/ and the member list in
// order in dir/list). The mtimes of changed files and directories are put
// back from a copy made before script runs, except for the paths script
// writes to dir/keep-mtime. It returns the original and the changed
// tarball.
func Libntlm16Changed(t testing.TB, dir, script string) (orig, changed string) {
	t.Helper()
	return Libntlm16ChangedWith(t, dir, script, "gzip -9n")
}

// Libntlm16ChangedWith is Libntlm16Changed with the re-tar compressed by
// the shell command compress (a filter, e.g. "gzip -9n --rsyncable").
func Libntlm16ChangedWith(t testing.TB, dir, script, compress string) (orig, changed string) {
	t.Helper()
	orig = DebianPool(t, Libntlm16Pool, Libntlm16SHA256)
	for _, tool := range []string{"sh", "tar", "gzip", "sed", "stat", "touch"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("testenv: %s not found in PATH (the test uses the real tool)", tool)
		}
	}
	full := `tar -xzf '` + orig + `' && tar -tzf '` + orig + `' > list && mkdir ref && cp -a libntlm-1.6 ref/` + "\n" +
		script + "\n" +
		`(cd ref && find libntlm-1.6 -depth) | while read -r f; do [ "$(stat -c %Y "ref/$f")" = "$(stat -c %Y "$f")" ] || grep -qFx "$f" keep-mtime 2>/dev/null || touch -h -r "ref/$f" "$f"; done` + "\n" +
		`tar --format=v7 --owner=0 --group=0 --numeric-owner --no-recursion -T list -cf - | ` + compress + ` > changed.tar.gz`
	cmd := exec.Command("sh", "-ec", full)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: changing libntlm 1.6: %v\n%s", err, out)
	}
	return orig, filepath.Join(dir, "changed.tar.gz")
}
