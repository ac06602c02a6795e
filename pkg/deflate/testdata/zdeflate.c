/* zdeflate: the zlib oracle of pkg/deflate's tests.
 *
 *   zdeflate LIBZ_PATH LEVEL WINDOWBITS CHUNK < in > out
 *
 * loads LIBZ_PATH (a libz.so.1 from a Debian zlib1g package) with dlopen,
 * calls deflateInit2(LEVEL, Z_DEFLATED, WINDOWBITS, 8, Z_DEFAULT_STRATEGY)
 * and feeds stdin CHUNK bytes per deflate(Z_NO_FLUSH) call (as git and
 * zlib-flate do), then Z_FINISH. WINDOWBITS -15 gives raw deflate, 31 a
 * gzip wrapper. With ZDEFLATE_GIT=1 the calls follow git archive's
 * internal gzip instead (archive-tar.c tgz_deflate): each CHUNK with
 * Z_NO_FLUSH into one 16384-byte output buffer that is written and reset
 * only when deflate fills it, then Z_FINISH until Z_STREAM_END; that is
 * the pattern level 0's stored blocks depend on. zlib.h is declared here so that only gcc and libc are
 * needed; the z_stream layout has been the same since zlib 1.0. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const unsigned char *next_in; unsigned avail_in; unsigned long total_in;
    unsigned char *next_out; unsigned avail_out; unsigned long total_out;
    const char *msg; void *state;
    void *zalloc; void *zfree; void *opaque;
    int data_type; unsigned long adler; unsigned long reserved;
} z_stream;

typedef int (*init_fn)(z_stream *, int, int, int, int, int, const char *, int);
typedef int (*deflate_fn)(z_stream *, int);
typedef const char *(*version_fn)(void);

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: zdeflate LIBZ LEVEL WINDOWBITS CHUNK\n"); return 2; }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "zdeflate: %s\n", dlerror()); return 2; }
    init_fn init = (init_fn)dlsym(h, "deflateInit2_");
    deflate_fn def = (deflate_fn)dlsym(h, "deflate");
    deflate_fn end = (deflate_fn)dlsym(h, "deflateEnd");
    version_fn ver = (version_fn)dlsym(h, "zlibVersion");
    if (!init || !def || !end || !ver) { fprintf(stderr, "zdeflate: missing symbols\n"); return 2; }
    if (getenv("ZDEFLATE_VERSION")) { printf("%s\n", ver()); return 0; }
    int level = atoi(argv[2]), wbits = atoi(argv[3]);
    size_t chunk = (size_t)atol(argv[4]);
    z_stream s = {0};
    if (init(&s, level, 8, wbits, 8, 0, ver(), (int)sizeof s) != 0) { fprintf(stderr, "zdeflate: init failed\n"); return 2; }
    unsigned char *in = malloc(chunk), out[1 << 16];
    int flush = 0;
    if (getenv("ZDEFLATE_GIT")) {
        unsigned char gout[16384];
        s.next_out = gout; s.avail_out = sizeof gout;
        for (;;) {
            size_t n = fread(in, 1, chunk, stdin);
            if (ferror(stdin)) { perror("zdeflate: read"); return 2; }
            int fin = n == 0;
            flush = fin ? 4 : 0;
            s.next_in = in; s.avail_in = (unsigned)n;
            while (s.avail_in || flush == 4) {
                int rc = def(&s, flush);
                if (rc < 0 && rc != -5) { fprintf(stderr, "zdeflate: deflate %d\n", rc); return 2; }
                if (!s.avail_out || rc == 1 /* Z_STREAM_END */) {
                    fwrite(gout, 1, sizeof gout - s.avail_out, stdout);
                    s.next_out = gout; s.avail_out = sizeof gout;
                    if (rc == 1) break;
                }
            }
            if (fin) break;
        }
        end(&s, 0);
        return fclose(stdout) == 0 ? 0 : 2;
    }
    do {
        size_t n = fread(in, 1, chunk, stdin);
        if (ferror(stdin)) { perror("zdeflate: read"); return 2; }
        flush = feof(stdin) ? 4 /* Z_FINISH */ : 0;
        s.next_in = in; s.avail_in = (unsigned)n;
        do {
            s.next_out = out; s.avail_out = sizeof out;
            int rc = def(&s, flush);
            if (rc < 0 && rc != -5 /* Z_BUF_ERROR */) { fprintf(stderr, "zdeflate: deflate %d\n", rc); return 2; }
            fwrite(out, 1, sizeof out - s.avail_out, stdout);
        } while (s.avail_out == 0);
    } while (flush != 4);
    end(&s, 0);
    return fclose(stdout) == 0 ? 0 : 2;
}
