package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/deflate"
)

func TestProgressLine(t *testing.T) {
	require.Equal(t, "412 of 1298 MiB decompressed, blocks of 220 MiB re-created",
		progressLine(deflate.Progress{Decompressed: 412 << 20, Total: 1298 << 20, Proven: 220 << 20}))
	require.Equal(t, "3 MiB decompressed", progressLine(deflate.Progress{Decompressed: 3<<20 + 5}))
}
