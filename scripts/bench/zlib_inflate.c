/* The inflate floor for scripts/bench/60-hugin.sh: zlib's inflate() over gzip files, as Hugin's GzipLineReader
 * calls it (256 KiB reads, 256 KiB output blocks), output discarded. Prints "bytes=N cpu_seconds=S" (process CPU
 * time, clock()). Build: cc -O2 -o zlib_inflate zlib_inflate.c -lz */
#include <stdio.h>
#include <time.h>
#include <zlib.h>

int main(int argc, char **argv) {
    static unsigned char in[1 << 18], out[1 << 18];
    unsigned long long total = 0;
    for (int a = 1; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) { fprintf(stderr, "cannot open %s\n", argv[a]); return 2; }
        z_stream s = {0};
        if (inflateInit2(&s, 15 + 16) != Z_OK) return 3;
        int r = Z_OK;
        while (r != Z_STREAM_END) {
            size_t n = fread(in, 1, sizeof in, f);
            if (n == 0) { fprintf(stderr, "%s: truncated\n", argv[a]); return 4; }
            s.next_in = in;
            s.avail_in = (uInt)n;
            do {
                s.next_out = out;
                s.avail_out = sizeof out;
                r = inflate(&s, Z_NO_FLUSH);
                if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
                    fprintf(stderr, "%s: inflate error %d\n", argv[a], r);
                    return 5;
                }
                total += sizeof out - s.avail_out;
            } while ((s.avail_out == 0 || s.avail_in > 0) && r != Z_STREAM_END);
        }
        inflateEnd(&s);
        fclose(f);
    }
    printf("bytes=%llu cpu_seconds=%.3f\n", total, (double)clock() / CLOCKS_PER_SEC);
    return 0;
}
