package gitarchive

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// benchRepo makes a repository of about 2000 files and 40 MB (text of
// varying sizes in nested directories), packed like a real clone.
func benchRepo(b *testing.B) string {
	b.Helper()
	for _, kv := range testEnv {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	b.Setenv("HOME", b.TempDir())
	dir := newRepo(b)
	rng := rand.New(rand.NewPCG(7, 7))
	words := strings.Fields("the quick brown fox jumps over lazy dog int return static void struct if else for while case break")
	for i := 0; i < 2000; i++ {
		var sb strings.Builder
		n := 1000 + rng.IntN(40000)
		for sb.Len() < n {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(" \n"[rng.IntN(2)])
		}
		writeFile(b, dir, fmt.Sprintf("d%d/s%d/f%d.c", i%13, i%7, i), sb.String(), 0o644)
	}
	commitAll(b, dir, "bench")
	git(b, dir, "gc", "-q")
	return dir
}

func benchSize(b *testing.B, dir string) int64 {
	n, err := exec.Command("sh", "-c", "git -C '"+dir+"' archive HEAD | wc -c").Output()
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	fmt.Sscan(string(n), &size)
	return size
}

// BenchmarkArchive compares Write with git archive on the same repository:
//
//	go test -run XXX -bench Archive -benchtime 10x ./pkg/gitarchive
func BenchmarkArchive(b *testing.B) {
	dir := benchRepo(b)
	size := benchSize(b, dir)
	ctx := context.Background()
	b.Run("git-archive-tar", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			cmd := exec.Command("git", "archive", "HEAD")
			cmd.Dir = dir
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write-tar", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := Write(ctx, io.Discard, dir, "HEAD"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("git-archive-gzip-n", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			cmd := exec.Command("sh", "-c", "git archive HEAD | gzip -cn")
			cmd.Dir = dir
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write-gzip-n", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := Write(ctx, io.Discard, dir, "HEAD", WithCompression(CompressGzipN, -1)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
