// Command emulate compresses stdin to stdout with pkg/deflate, for
// bench/deflate/run.sh:
//
//	emulate gnu LEVEL [rsyncable]   # what gzip -cn -LEVEL [--rsyncable] writes
//	emulate zlib LEVEL              # raw zlib deflate (windowBits -15)
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"

	"gitlab.com/verify-release/verify-release/pkg/deflate"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: emulate gnu|zlib LEVEL [rsyncable]")
		os.Exit(2)
	}
	level, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulate: bad level:", err)
		os.Exit(2)
	}
	opts := []deflate.Option{deflate.WithLevel(level)}
	if len(os.Args) > 3 && os.Args[3] == "rsyncable" {
		opts = append(opts, deflate.WithRsyncable(true))
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	r := bufio.NewReaderSize(os.Stdin, 1<<20)
	ctx := context.Background()
	switch os.Args[1] {
	case "gnu":
		err = deflate.GNUGzip(ctx, w, r, opts...)
	case "zlib":
		err = deflate.ZlibDeflate(ctx, w, r, opts...)
	default:
		err = fmt.Errorf("unknown compressor %q", os.Args[1])
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulate:", err)
		os.Exit(2)
	}
}
