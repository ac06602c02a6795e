// Package atomicfile writes output files so that readers never see a
// partial file: data goes to a temporary file in the destination directory
// which is renamed over the destination only when everything succeeded.
package atomicfile
