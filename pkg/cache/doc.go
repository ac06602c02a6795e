// Package cache locates and prunes verify-release's cache: git mirrors,
// pinned input files, published copies and the OCI image layout, under
// the user cache directory.
package cache
