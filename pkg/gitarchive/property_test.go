package gitarchive

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var nameRunes = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,+=@ ~#%&()[]{}'\tçé名字ß😀")

func randomName(rng *rand.Rand, maxLen int) string {
	for {
		n := 1 + rng.IntN(maxLen)
		if rng.IntN(8) == 0 {
			n = 90 + rng.IntN(70) // around the 100/155 limits
		}
		var b strings.Builder
		for b.Len() < n {
			b.WriteRune(nameRunes[rng.IntN(len(nameRunes))])
		}
		s := b.String()
		if len(s) > 250 {
			s = s[:250]
			for !isValidUTF8Tail(s) {
				s = s[:len(s)-1]
			}
		}
		switch strings.ToLower(s) {
		case ".", "..", ".git", ".gitmodules", ".gitattributes":
			continue
		}
		return s
	}
}

func isValidUTF8Tail(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// buildRandomTree writes a random tree into dir.
func buildRandomTree(t testing.TB, dir string, rng *rand.Rand) {
	t.Helper()
	var walk func(rel string, depth int)
	count := 0
	walk = func(rel string, depth int) {
		n := 2 + rng.IntN(8)
		for i := 0; i < n && count < 120; i++ {
			name := randomName(rng, 20)
			p := filepath.Join(rel, name)
			if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
				continue
			}
			count++
			switch k := rng.IntN(10); {
			case k < 3 && depth < 12 && len(p) < 600:
				walk(p, depth+1)
			case k == 2:
				symlink(t, dir, p, randomName(rng, 160))
			default:
				size := rng.IntN(1500)
				if rng.IntN(10) == 0 {
					size = rng.IntN(30000)
				}
				if rng.IntN(6) == 0 {
					size = 0
				}
				data := make([]byte, size)
				for j := range data {
					data[j] = byte(rng.IntN(256))
				}
				mode := os.FileMode(0o644)
				if rng.IntN(3) == 0 {
					mode = 0o755
				}
				writeFile(t, dir, p, string(data), mode)
			}
		}
	}
	walk("", 0)
	// A directory that ends up empty is simply not in git; make sure there
	// is at least one file.
	writeFile(t, dir, "z", "z\n", 0o644)
}

func randomPrefix(rng *rand.Rand) string {
	switch rng.IntN(4) {
	case 0:
		return ""
	case 1:
		return "proj-1.0/"
	case 2:
		return randomName(rng, 30) + "/" + randomName(rng, 120) + "/"
	}
	return randomName(rng, 10)
}

func checkRandomTree(t *testing.T, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	dir := newRepo(t)
	buildRandomTree(t, dir, rng)
	if rng.IntN(3) == 0 {
		git(t, dir, "config", "tar.umask", fmt.Sprintf("0%o", rng.IntN(0o1000)))
	}
	commitAll(t, dir, "random "+fmt.Sprint(seed))
	t.Logf("%d entries", strings.Count(git(t, dir, "ls-tree", "-r", "-t", "-z", "HEAD"), "\x00"))
	compareWithGit(t, dir, "HEAD", randomPrefix(rng))
}

// TestRandomTrees is the seeded property test: random names, depths, modes
// and sizes, compared byte for byte with git archive.
func TestRandomTrees(t *testing.T) {
	setupEnv(t)
	for seed := uint64(1); seed <= 30; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkRandomTree(t, seed) })
	}
}

// FuzzGitArchive explores more seeds: go test -fuzz FuzzGitArchive ./pkg/gitarchive
func FuzzGitArchive(f *testing.F) {
	for _, s := range []uint64{0, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		setupEnv(t)
		checkRandomTree(t, seed)
	})
}
