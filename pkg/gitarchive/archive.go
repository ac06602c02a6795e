package gitarchive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/pipe"
)

// Info describes a written archive.
type Info struct {
	Commit string    // commit id (40 or 64 hex), "" for a tree
	Tree   string    // tree id archived
	Mtime  time.Time // mtime of the members (UTC)
}

// Write writes the archive git archive --format=tar [--prefix] REF would
// write (compressed if WithCompression says so) to w. Objects are streamed
// from git cat-file --batch; memory does not grow with the repository,
// except that export-subst files and files whose line endings git would
// convert are held in memory one at a time, as git does.
func Write(ctx context.Context, w io.Writer, repoDir, ref string, opts ...Option) (*Info, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	g, err := openRepo(ctx, o.git, repoDir)
	if err != nil {
		return nil, err
	}
	// Read the configuration and look for .gitattributes files while the
	// ref is resolved.
	var cfg *repoConfig
	cfgErr := make(chan error, 1)
	go func() {
		var err error
		cfg, err = readConfig(ctx, g)
		cfgErr <- err
	}()
	inTree := make(chan bool, 1)
	go func() { inTree <- treeHasAttributes(ctx, g, ref) }()
	t, err := resolve(ctx, g, ref)
	if cerr := <-cfgErr; err == nil && cerr != nil {
		err = cerr
	}
	hasAttrs := <-inTree
	if err != nil {
		return nil, err
	}
	var mtime uint64
	switch {
	case o.mtime != nil:
		mtime = *o.mtime
	case t.commit != "":
		mtime = t.commitTime
	case o.now != nil:
		mtime = uint64(o.now().Unix())
	default:
		return nil, fmt.Errorf("%w: %q names tree %s", ErrNoMtime, ref, t.tree)
	}
	info := &Info{Commit: t.commit, Tree: t.tree, Mtime: time.Unix(int64(mtime), 0).UTC()}
	if mtime > 1<<62 {
		info.Mtime = time.Time{}
	}
	a := &archiver{g: g, t: t, cfg: cfg, o: o, mtime: mtime, attrs: hasAttrs || attributeFilesExist(g, cfg)}
	if o.compression == CompressNone {
		return info, a.write(ctx, w)
	}
	pr, pw := io.Pipe()
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		werr = a.write(ctx, pw)
		pw.CloseWithError(werr)
	}()
	cerr := Compress(ctx, w, pr, o.compression, o.level)
	pr.CloseWithError(errCompressorStopped)
	<-done
	switch {
	case werr != nil && !errors.Is(werr, errCompressorStopped):
		return nil, werr // the archive failed (the compressor saw its error)
	case cerr != nil:
		return nil, cerr
	case werr != nil:
		return nil, werr
	}
	return info, nil
}

var errCompressorStopped = errors.New("gitarchive: compressor stopped")

type archiver struct {
	attrs bool // whether any attributes can apply (else check-attr is skipped)
	g     *gitRunner
	t     *target
	cfg   *repoConfig
	o     *options
	mtime uint64
}

// treeEntry is one line of git ls-tree -r -t -z.
type treeEntry struct {
	worker int // cat-file process that reads the blob
	mode   uint32
	oid    string
	path   string
	attrs  attrs
}

func (e *treeEntry) isDir() bool     { return e.mode&0o170000 == 0o040000 }
func (e *treeEntry) isGitlink() bool { return e.mode&0o170000 == 0o160000 }
func (e *treeEntry) isBlob() bool {
	return e.mode&0o170000 == 0o100000 || e.mode&0o170000 == 0o120000
}

func (a *archiver) write(parent context.Context, w io.Writer) (err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	var indexEnv []string
	if a.attrs {
		tmp, err := os.MkdirTemp("", "gitarchive-index-*")
		if err != nil {
			return fmt.Errorf("gitarchive: %w", err)
		}
		defer os.RemoveAll(tmp)
		indexEnv = []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
		// git archive reads attributes from an index made of the archived
		// tree (plus info/attributes and the global files); so does
		// check-attr --cached.
		rt, err := a.g.start(ctx, indexEnv, false, "read-tree", a.t.tree)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, rt.stdout)
		if err := rt.wait(); err != nil {
			return objectErr(a.t.tree, "", err)
		}
	}

	ls, err := a.g.start(ctx, nil, false, "ls-tree", "-r", "-t", "-z", "--full-tree", a.t.tree)
	if err != nil {
		return err
	}
	defer ls.kill()
	var ca *proc
	if a.attrs {
		ca, err = a.g.start(ctx, indexEnv, true, append([]string{"check-attr", "--cached", "-z", "--stdin"}, attrNames...)...)
		if err != nil {
			return err
		}
		defer ca.kill()
	}
	// Blobs are read by several cat-file processes in turn, so inflating and
	// delta resolution run in parallel while the tar is written in order.
	workers := make([]*catFile, catFileWorkers())
	for i := range workers {
		p, err := a.g.start(ctx, nil, true, "cat-file", "--batch")
		if err != nil {
			return err
		}
		defer p.kill()
		pipe.Grow(p.stdout)
		workers[i] = &catFile{p: p, w: bufio.NewWriterSize(p.stdin, 16<<10), r: bufio.NewReaderSize(p.stdout, 64<<10), outFD: fdOf(p.stdout)}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	chA := make(chan []*treeEntry, 8)
	chB := make(chan []*treeEntry, 8)
	wg.Add(2)
	// A failing stage cancels the others (and kills the git processes).
	stage := func(f func() error) {
		defer wg.Done()
		if err := f(); err != nil {
			errs <- err
			cancel()
		}
	}
	go stage(func() error { return a.list(ctx, ls, ca, chA) })
	go stage(func() error { return a.filter(ctx, ca, workers, chA, chB) })

	err = a.emit(ctx, w, workers, chB)
	if err != nil {
		cancel()
		ls.kill()
		if ca != nil {
			ca.kill()
		}
		for _, cf := range workers {
			cf.p.kill()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		// Keep the first real failure, not the cancellation it caused.
		if err == nil || (errors.Is(err, context.Canceled) && parent.Err() == nil && !errors.Is(e, context.Canceled)) {
			err = e
		}
	}
	if err != nil {
		return err
	}
	for _, cf := range workers {
		if err := cf.p.wait(); err != nil {
			return err
		}
	}
	if ca != nil {
		return ca.wait()
	}
	return nil
}

// batchSize is how many entries move between pipeline stages at once.
const batchSize = 256

// list reads ls-tree and queries attributes for each path. Each batch's
// queries are flushed before the batch is handed on, so the next stage
// never waits for data still in a buffer here.
func (a *archiver) list(ctx context.Context, ls, ca *proc, out chan<- []*treeEntry) error {
	defer close(out)
	r := bufio.NewReaderSize(ls.stdout, 64<<10)
	aw := bufio.NewWriterSize(io.Discard, 64<<10)
	if ca != nil {
		aw = bufio.NewWriterSize(ca.stdin, 64<<10)
	}
	var batch []*treeEntry
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := aw.Flush(); err != nil {
			return a.procErr(ctx, ca, err)
		}
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = nil
		return nil
	}
	for {
		if r.Buffered() == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		rec, err := r.ReadBytes(0)
		if err == io.EOF && len(rec) == 0 {
			break
		}
		if err != nil {
			return a.procErr(ctx, ls, err)
		}
		e, perr := parseLsTree(rec[:len(rec)-1])
		if perr != nil {
			return perr
		}
		q := e.path
		if e.isDir() || e.isGitlink() {
			q += "/"
		}
		aw.WriteString(q)
		aw.WriteByte(0)
		batch = append(batch, e)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if ca != nil {
		ca.stdin.Close()
	}
	if err := ls.wait(); err != nil {
		return objectErr(a.t.tree, "", err)
	}
	return nil
}

func parseLsTree(rec []byte) (*treeEntry, error) {
	meta, path, ok := bytes.Cut(rec, []byte{'\t'})
	f := strings.Fields(string(meta))
	if !ok || len(f) != 3 {
		return nil, fmt.Errorf("%w: unexpected ls-tree output %q", ErrGit, rec)
	}
	mode, err := strconv.ParseUint(f[0], 8, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: unexpected ls-tree mode %q", ErrGit, f[0])
	}
	return &treeEntry{mode: uint32(mode), oid: f[2], path: string(path)}, nil
}

// filter reads the attributes of each entry, drops export-ignore'd ones and
// asks cat-file for the blobs that will be written; requests are flushed
// before their batch is handed on.
func (a *archiver) filter(ctx context.Context, ca *proc, workers []*catFile, in <-chan []*treeEntry, out chan<- []*treeEntry) error {
	defer close(out)
	var r *bufio.Reader
	if ca != nil {
		r = bufio.NewReaderSize(ca.stdout, 64<<10)
	}
	ignored := ""
	next := 0
	for batch := range in {
		kept := batch[:0]
		for _, e := range batch {
			if r != nil {
				at, err := readAttrs(r, e)
				if err != nil {
					return a.procErr(ctx, ca, err)
				}
				e.attrs = at
			} else {
				e.attrs = noAttrs
			}
			at := e.attrs
			if ignored != "" && strings.HasPrefix(e.path, ignored) {
				continue
			}
			ignored = ""
			if at.exportIgnore {
				if e.isDir() {
					ignored = e.path + "/"
				}
				continue
			}
			if e.isBlob() {
				e.worker = next
				next = (next + 1) % len(workers)
				cw := workers[e.worker].w
				cw.WriteString(e.oid)
				cw.WriteByte('\n')
			}
			kept = append(kept, e)
		}
		if len(kept) == 0 {
			continue
		}
		for _, cf := range workers {
			if err := cf.w.Flush(); err != nil {
				return a.procErr(ctx, cf.p, err)
			}
		}
		select {
		case out <- kept:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, cf := range workers {
		if err := cf.p.stdin.Close(); err != nil {
			return err
		}
	}
	return nil
}

// procErr prefers the failure of the git process over the pipe error it
// caused.
func (a *archiver) procErr(ctx context.Context, p *proc, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if p == nil {
		return err
	}
	if perr := p.wait(); perr != nil {
		return objectErr("", "", perr)
	}
	return err
}

// objectErr classifies a git failure about objects.
func objectErr(oid, path string, err error) error {
	if !errors.Is(err, ErrGit) {
		return err
	}
	msg := err.Error()
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "corrupt") || strings.Contains(low, "inflate") || strings.Contains(low, "hash mismatch") || strings.Contains(low, "bad object"):
		return &ObjectError{OID: oid, Path: path, Err: ErrCorruptObject, Detail: msg}
	case strings.Contains(low, "unable to read") || strings.Contains(low, "could not read") || strings.Contains(low, "failed to unpack") || strings.Contains(low, "not a tree object") || strings.Contains(low, "missing"):
		return &ObjectError{OID: oid, Path: path, Err: ErrMissingObject, Detail: msg}
	}
	return err
}

// emit writes the tar stream.
func (a *archiver) emit(ctx context.Context, w io.Writer, workers []*catFile, in <-chan []*treeEntry) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	tw := &tarWriter{w: bw, bw: bw, dstFD: fdOf(w)}
	mtime, err := tw.writeGlobalHeader(a.t.commit, a.mtime)
	if err != nil {
		return err
	}
	prefix := a.o.prefix
	if n := len(prefix); n > 0 && prefix[n-1] == '/' {
		for n > 1 && prefix[n-2] == '/' {
			n--
		}
		if err := tw.writeEntryHeader(&entry{oid: a.t.tree, path: prefix[:n], mode: 0o40777}, a.cfg.umask, mtime); err != nil {
			return err
		}
	}
	sub := &substituter{g: a.g, commit: a.t.commit, abbrev: a.o.abbrev, describeLeft: 1, cache: map[string]string{}}
	for batch := range in {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := a.emitBatch(ctx, tw, workers, batch, prefix, mtime, sub); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tw.trailer(); err != nil {
		return err
	}
	return bw.Flush()
}

func (a *archiver) emitBatch(ctx context.Context, tw *tarWriter, workers []*catFile, batch []*treeEntry, prefix string, mtime uint64, sub *substituter) error {
	for _, e := range batch {
		cf, cr := workers[e.worker].p, workers[e.worker].r
		path := prefix + e.path
		switch {
		case e.isDir() || e.isGitlink():
			if err := tw.writeEntryHeader(&entry{oid: e.oid, path: path + "/", mode: e.mode}, a.cfg.umask, mtime); err != nil {
				return err
			}
		case e.isBlob():
			size, err := a.blobHeader(ctx, cf, cr, e)
			if err != nil {
				return err
			}
			if err := a.writeBlob(ctx, tw, workers, e, path, size, mtime, sub); err != nil {
				return err
			}
			if b, err := cr.ReadByte(); err != nil || b != '\n' {
				return a.catFileErr(ctx, cf, e, fmt.Errorf("%w: cat-file: missing newline after %s", ErrGit, e.oid))
			}
		default:
			return fmt.Errorf("gitarchive: unsupported file mode: 0%o (%s)", e.mode, e.path)
		}
	}
	return nil
}

func (a *archiver) catFileErr(ctx context.Context, cf *proc, e *treeEntry, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	cf.stdin.Close()
	if perr := cf.wait(); perr != nil {
		return objectErr(e.oid, e.path, perr)
	}
	return err
}

// blobHeader reads cat-file's "<oid> blob <size>" line.
func (a *archiver) blobHeader(ctx context.Context, cf *proc, cr *bufio.Reader, e *treeEntry) (uint64, error) {
	line, err := cr.ReadString('\n')
	if err != nil {
		return 0, a.catFileErr(ctx, cf, e, &ObjectError{OID: e.oid, Path: e.path, Err: ErrCorruptObject, Detail: "git cat-file stopped"})
	}
	f := strings.Fields(line)
	if len(f) == 2 && f[1] == "missing" {
		return 0, a.missing(ctx, e)
	}
	if len(f) != 3 || f[0] != e.oid {
		return 0, fmt.Errorf("%w: cat-file: unexpected %q for %s", ErrGit, line, e.oid)
	}
	if f[1] != "blob" {
		return 0, &ObjectError{OID: e.oid, Path: e.path, Err: ErrCorruptObject, Detail: "is a " + f[1] + ", not a blob"}
	}
	size, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: cat-file: bad size in %q", ErrGit, line)
	}
	return size, nil
}

func (a *archiver) writeBlob(ctx context.Context, tw *tarWriter, workers []*catFile, e *treeEntry, path string, size, mtime uint64, sub *substituter) error {
	cr := workers[e.worker].r
	ent := &entry{oid: e.oid, path: path, mode: e.mode, size: size}
	if e.mode&0o170000 == 0o120000 {
		ent.link = make([]byte, size)
		if _, err := io.ReadFull(cr, ent.link); err != nil {
			return &ObjectError{OID: e.oid, Path: e.path, Err: ErrCorruptObject, Detail: err.Error()}
		}
		return tw.writeEntryHeader(ent, a.cfg.umask, mtime)
	}
	subst := e.attrs.exportSubst && a.t.commit != ""
	streamRaw := !subst && size > a.cfg.bigFileThreshold
	var conv bool
	if !streamRaw {
		var err error
		if conv, err = a.needsConversion(e); err != nil {
			return err
		}
	}
	if !subst && !conv {
		if err := tw.writeEntryHeader(ent, a.cfg.umask, mtime); err != nil {
			return err
		}
		n, err := a.copyBlob(tw, workers[e.worker], int64(size))
		if err != nil {
			if tw.err != nil {
				return tw.err
			}
			return &ObjectError{OID: e.oid, Path: e.path, Err: ErrCorruptObject, Detail: fmt.Sprintf("read %d of %d bytes: %v", n, size, err)}
		}
		return tw.finishRecord()
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(cr, buf); err != nil {
		return &ObjectError{OID: e.oid, Path: e.path, Err: ErrCorruptObject, Detail: err.Error()}
	}
	if conv {
		var err error
		if buf, err = a.convert(e, buf); err != nil {
			return err
		}
	}
	if subst {
		var err error
		if buf, err = sub.apply(ctx, e.path, buf); err != nil {
			return err
		}
	}
	ent.size = uint64(len(buf))
	if err := tw.writeEntryHeader(ent, a.cfg.umask, mtime); err != nil {
		return err
	}
	if len(buf) == 0 {
		return nil
	}
	return tw.writeBlocked(buf)
}

// missing tells a missing object from one git cannot read (cat-file
// --batch says "missing" for both).
func (a *archiver) missing(ctx context.Context, e *treeEntry) error {
	_, err := a.g.output(ctx, "cat-file", "-t", e.oid)
	if err != nil {
		low := strings.ToLower(err.Error())
		for _, s := range []string{"inflate", "unable to unpack", "corrupt", "hash mismatch", "bad object"} {
			if strings.Contains(low, s) {
				return &ObjectError{OID: e.oid, Path: e.path, Err: ErrCorruptObject, Detail: strings.TrimPrefix(err.Error(), ErrGit.Error()+": ")}
			}
		}
	}
	return &ObjectError{OID: e.oid, Path: e.path, Err: ErrMissingObject, Detail: "not in the repository (shallow or partial clone?)"}
}

// catFile is one git cat-file --batch process.
type catFile struct {
	p     *proc
	w     *bufio.Writer
	r     *bufio.Reader
	outFD int // descriptor of p.stdout, -1 if unknown
}

// spliceMin is the blob size from which content is spliced from cat-file
// to the output without passing through user space.
const spliceMin = 128 << 10

// copyBlob copies a blob's n content bytes from cf to tw: through memory,
// or with splice(2) when both ends are descriptors that allow it.
func (a *archiver) copyBlob(tw *tarWriter, cf *catFile, n int64) (int64, error) {
	if tw.dstFD < 0 || cf.outFD < 0 || n < spliceMin {
		return io.CopyN(tw, cf.r, n)
	}
	// Bytes already read into the buffer go first.
	k, err := io.CopyN(tw, cf.r, min(int64(cf.r.Buffered()), n))
	if err != nil {
		return k, err
	}
	if err := tw.bw.Flush(); err != nil {
		return k, err
	}
	m, err := spliceN(tw.dstFD, cf.outFD, n-k)
	tw.offset += m
	if errors.Is(err, errNoSplice) {
		tw.dstFD = -1
		m2, err := io.CopyN(tw, cf.r, n-k)
		return k + m2, err
	}
	return k + m, err
}

// catFileWorkers is the number of cat-file processes: one per CPU, at
// most four.
func catFileWorkers() int {
	return min(max(runtime.NumCPU(), 1), 4)
}
