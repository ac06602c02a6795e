package tarball

import (
	"crypto/sha256"
	"hash"
	"io"
	"sync"
)

// readAhead decompresses in its own goroutine: it reads the decoder into a
// few large buffers, hashing the tar bytes as they are produced, while the
// consumer parses and compares the buffers already filled. Diff uses one per
// input so that both inputs are decompressed (and their tar streams hashed)
// on separate cores while a single goroutine compares them in lock-step.
type readAhead struct {
	full chan raChunk
	free chan []byte
	done chan struct{}
	exit chan struct{}
	stop sync.Once
	hash hash.Hash // nil, or written only by the producer until it sends an error

	buf []byte // current chunk, returned to free when consumed
	cur []byte // unread part of buf
	err error  // error that ended the stream (io.EOF at the end)
}

type raChunk struct {
	b   []byte
	err error
}

// Read-ahead sizes: raBuffers buffers of raSize bytes per input.
const (
	raSize    = 256 << 10
	raBuffers = 4
)

func newReadAhead(r io.Reader, digest bool) *readAhead {
	ra := &readAhead{
		full: make(chan raChunk, raBuffers),
		free: make(chan []byte, raBuffers),
		done: make(chan struct{}),
		exit: make(chan struct{}),
	}
	if digest {
		ra.hash = sha256.New()
	}
	for range raBuffers {
		ra.free <- make([]byte, raSize)
	}
	go ra.run(r)
	return ra
}

func (ra *readAhead) run(r io.Reader) {
	defer close(ra.exit)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
			select {
			case <-ra.done:
				return
			default:
			}
		}
		if ra.hash != nil {
			ra.hash.Write(buf[:n])
		}
		select {
		case ra.full <- raChunk{buf[:n], err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		if ra.err != nil {
			return 0, ra.err
		}
		c := <-ra.full // the producer sends until it sends an error
		ra.buf, ra.cur, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// close stops the producer and waits for it, so the decoder it reads from
// can be closed safely. The producer notices within one Read of the decoder.
func (ra *readAhead) close() {
	ra.stop.Do(func() { close(ra.done) })
	<-ra.exit
}
