package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/digest"
)

// DebianPool returns the path of a file from the Debian mirror's pool
// (e.g. "main/c/curl/curl_8.14.1.orig.tar.gz"), downloaded once into
// os.UserCacheDir()/verify-release/testdata and checked against sha256
// (taken from the suite's Sources index). It fails the test, never skips
// it, when the mirror is unreachable.
func DebianPool(t testing.TB, pool, sha string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	dir := filepath.Join(cache, "verify-release", "testdata")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	dest := filepath.Join(dir, path.Base(pool))
	if got, err := digest.File(context.Background(), dest); err == nil && got == sha {
		return dest
	}
	url := Mirror + "/pool/" + pool
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testenv: cannot download test input %s (this test needs the Debian mirror, or a copy with sha256 %s at %s): %v", url, sha, dest, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: cannot download test input %s: HTTP %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(dir, "."+path.Base(pool)+".tmp-*")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("testenv: downloading %s: %v", url, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		t.Fatalf("testenv: downloaded %s has sha256 %s, want %s", url, got, sha)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dest
}
