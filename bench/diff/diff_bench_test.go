// Package diffbench profiles tarball.Diff on the pairs built by run.sh:
//
//	BENCH_A=/var/cache/verify-release-bench/pairs/linux/A.tar.xz \
//	BENCH_B=/var/cache/verify-release-bench/pairs/linux/c.tar.xz \
//	go test -run '^$' -bench . -benchtime 1x -cpuprofile /tmp/cpu.out -memprofile /tmp/mem.out ./bench/diff
//	go tool pprof -top /tmp/cpu.out
package diffbench

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

func BenchmarkDiff(b *testing.B) {
	pa, pb := os.Getenv("BENCH_A"), os.Getenv("BENCH_B")
	if pa == "" || pb == "" {
		b.Fatal("set BENCH_A and BENCH_B to two tarballs (see bench/diff/run.sh for how pairs are built)")
	}
	for i := 0; i < b.N; i++ {
		res, err := tarball.Diff(context.Background(), pa, pb)
		require.NoError(b, err)
		require.False(b, res.Identical())
	}
}
