package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiffHelpPrintedOnce(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var out, errOut bytes.Buffer
		code := runMain(context.Background(), &cli{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }},
			[]string{"diff", arg})
		require.Equal(t, 0, code, "stderr: %s", errOut.String())
		assert.Equal(t, 1, strings.Count(out.String(), "Usage:\n  verify-release diff"), "help text:\n%s", out.String())
		assert.Equal(t, 1, strings.Count(out.String(), "\nFlags:\n"), "help text:\n%s", out.String())
	}
}
