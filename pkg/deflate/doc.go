// Package deflate re-creates, byte for byte, the deflate streams of GNU gzip and zlib, and names the compressor of a gzip file.
package deflate
