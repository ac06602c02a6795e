package gitarchive

import (
	"context"
	"io"
	"os"
	"testing"
	"time"
)

func TestExpTiming(t *testing.T) {
	dir := "/tmp/ga/cu"
	for i := 0; i < 8; i++ {
		t0 := time.Now()
		_, err := Write(context.Background(), io.Discard, dir, "HEAD")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("write %v", time.Since(t0))
	}
	_ = os.Getenv
}
