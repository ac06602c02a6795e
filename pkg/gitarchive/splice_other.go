//go:build !linux

package gitarchive

import "errors"

var errNoSplice = errors.New("gitarchive: splice not supported")

func fdOf(any) int { return -1 }

func spliceN(dst, src int, n int64) (int64, error) { return 0, errNoSplice }
