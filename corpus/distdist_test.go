package corpus_test

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// "Dist from dist" (issue 12, item 6): each recipe of the table unpacks
// upstream's make-dist tarball as Debian bookworm ships it (the orig
// tarball), runs ./configure and make dist in one shared bookworm
// environment (the same [env] in every recipe, so one cached image) and
// compares the result with the tarball it started from.
//
// The expected values were found by hand, independently of
// verify-release: `apt-get source --download-only PKG/bookworm`, an
// `mmdebstrap --variant=apt bookworm` root with the recipes' packages
// (the same versions as the locks), the orig tarball unpacked with its
// mtimes and root as owner, `./configure` and the recipe's make dist
// command in `unshare --net` + chroot with SOURCE_DATE_EPOCH = the newest
// member mtime, TZ=UTC, LC_ALL=C and umask 0022; the sha256 of the
// result, and `tar -tvf` listings and `diff -r` of both trees for the
// members whose content differs.
var distFromDist = []struct {
	name, version string
	file          string
	status        string // the dist artifact's status in report.json
	actual        string // the re-created tarball's sha256, by hand
	// content lists the members (without the top directory) whose
	// content differs or that only one side has, by hand; empty for an
	// EQUIVALENT release.
	content []string
}{
	{"libntlm", "1.6", "libntlm-1.6.tar.gz", "EQUIVALENT",
		"e6cabc064c1c24c44365453d96129cf3377952f3ddfc40a9d4d64bcbb78d898b", nil},
	{"grep", "3.8", "grep-3.8.tar.xz", "EQUIVALENT",
		"c784acd00315a9ad1a5ce71025f10ad2f7eb25358ad728010f98d415af3e2e45", nil},
	{"patch", "2.7.6", "patch-2.7.6.tar.xz", "EQUIVALENT",
		"b8a83333b46ca78369a55cb7daa9b070c9f1a42b6e07435ef8d4f8416adbbbc2", nil},
	// gtk-doc's style.css from bookworm's Pygments; msgmerge's wrapping.
	{"libidn2", "2.3.3", "libidn2-2.3.3.tar.gz", "MISMATCH",
		"99529ac708909b536cddbba3fcacd0817b747b58ed2ae053054dff56fe1253df",
		[]string{"doc/reference/html/style.css", "po/hr.po", "po/ru.po", "po/sr.po"}},
	{"libtasn1", "4.19.0", "libtasn1-4.19.0.tar.gz", "MISMATCH",
		"4d5a39b45fe89139758eba6ebe81def7f8ddc75dc8bec5752cc409842976c23e",
		[]string{"doc/reference/html/style.css"}},
	// ChangeLog is written from the git log by dist-hook.
	{"libpipeline", "1.5.7", "libpipeline-1.5.7.tar.gz", "MISMATCH",
		"e05a452a684c4bd6a0a655b8644cc2489ce9a99418be69df6655164c5b1d04db",
		[]string{"ChangeLog"}},
	// gss.h: configure without shishi drops the Kerberos V5 includes.
	{"gss", "1.0.4", "gss-1.0.4.tar.gz", "MISMATCH",
		"8a34c825902201796039a18bb43241ee00402bb28a042898164302f5fe3c322f",
		[]string{"doc/reference/html/style.css", "lib/headers/gss.h", "po/es.po", "po/hr.po", "po/sr.po"}},
	{"libidn", "1.41", "libidn-1.41.tar.gz", "MISMATCH",
		"7d8f62a2b1d34e851b7e3398c50d5f594cef1ab3344f5d9cf3a7d659b7f60ad6",
		[]string{"doc/reference/html/style.css", "po/hr.po", "po/sr.po", "po/vi.po"}},
	// help2man runs the sed just built: built without SELinux support.
	{"sed", "4.9", "sed-4.9.tar.xz", "MISMATCH",
		"47538a00b03c2192edb42867583849a473debeecdd84440182097693e2fdf312",
		[]string{"doc/sed.1"}},
	{"m4", "1.4.19", "m4-1.4.19.tar.xz", "MISMATCH",
		"6137271a537feb9c99b080c1ded403c59e660317113174897f843f7eb34896d6",
		[]string{"po/cs.po", "po/el.po", "po/hr.po", "po/sr.po", "po/sv.po", "po/uk.po"}},
	// zless.1 is distributed only when configure finds less.
	{"gzip", "1.12", "gzip-1.12.tar.xz", "MISMATCH",
		"cdb289f96ceab3fe311a41d19ce9aa75d255a5d3982e3e60979b5f1cd48b754d",
		[]string{"zless.1"}},
	{"gdbm", "1.23", "gdbm-1.23.tar.gz", "MISMATCH",
		"b8e9e29ebc6c5c2e6f58c99a241f93f067c3d67e9159415a1cbde5cce4a9da01",
		[]string{"po/ru.gmo", "po/ru.po", "po/sr.gmo", "po/sr.po", "po/uk.gmo", "po/uk.po"}},
}

func TestCorpusDistFromDist(t *testing.T) {
	testenv.RequireDocker(t)
	t.Parallel() // beside curl's and libntlm's builds, two at a time
	for _, tc := range distFromDist {
		t.Run(tc.name+"-"+tc.version, func(t *testing.T) {
			t.Parallel()
			want := exitOK
			if tc.status == "MISMATCH" {
				want = exitDiffer
			}
			out, _, data := runRecipe(t, filepath.Join("debian", tc.name, tc.version+".toml"), tc.name, tc.version, want, "--artifact", "dist")

			var rep struct {
				Artifacts []struct {
					Name, File, Status string
					Actual             string `json:"actual_sha256"`
					Diff               *struct {
						Members []string
					}
					Verdict *struct {
						Status     string
						Unaccepted []struct {
							Path, Class string
						}
					}
				}
			}
			require.NoError(t, json.Unmarshal(data, &rep))
			require.Len(t, rep.Artifacts, 1)
			a := rep.Artifacts[0]
			assert.Equal(t, "dist", a.Name)
			assert.Equal(t, tc.file, a.File)
			assert.Equal(t, tc.status, a.Status)
			assert.Equal(t, tc.actual, a.Actual, "the re-created tarball is not the one made by hand")
			require.NotNil(t, a.Verdict, "no verdict in report.json")
			require.NotNil(t, a.Diff, "no diff in report.json")

			top := tc.name + "-" + tc.version + "/"
			// The members the verdict does not accept are exactly the
			// ones whose content differs by hand; each is also in the diff.
			seen := map[string]bool{}
			var got []string
			for _, d := range a.Verdict.Unaccepted {
				if !seen[d.Path] {
					seen[d.Path] = true
					got = append(got, d.Path)
				}
			}
			sort.Strings(got)
			var wantPaths []string
			for _, m := range tc.content {
				wantPaths = append(wantPaths, top+m)
			}
			if len(wantPaths) == 0 {
				assert.Empty(t, got)
				assert.Equal(t, "EQUIVALENT", a.Verdict.Status)
			} else {
				assert.Equal(t, wantPaths, got)
				assert.Equal(t, "DIFFERENT", a.Verdict.Status)
				assert.Subset(t, a.Diff.Members, wantPaths)
			}
			checkResultsTable(t, out)
		})
	}
}
