// Package envpin pins build environments: container images by digest, a local OCI-layout image cache, cached setup images, probed tool versions and the recipe lock file that records them.
//
// # Intent and lock
//
// A recipe states intent: an image reference (ideally name@sha256:...),
// setup commands and the tool versions the project expects. Beside it,
// <recipe-without-extension>.lock (TOML, written by `verify-release pin`
// with WriteLock) records what the intent resolved to:
//
//	version = 1
//
//	[image]
//	ref = "debian:bookworm"                    # as written in the recipe
//	digest = "sha256:..."                      # manifest (or index) digest
//	config_digest = "sha256:..."               # image config digest = Docker image ID
//
//	[tools]
//	autoconf = "2.71"
//	...
//
//	[environment]
//	distro = "debian 12"
//	packages = ["autoconf=2.71-3", ...]
//
// A build reads the lock and never updates it. Output is deterministic:
// keys and package lists are sorted, there are no timestamps.
//
// # Digests
//
// The manifest digest identifies an image in a registry and in the OCI
// layout cache; the config digest identifies it in a Docker Engine (the
// image ID), whatever the compression of its layers. EnsureImage accepts
// an engine image only when its ID equals the pinned config digest (when
// known) or the engine recorded the pinned repo digest. A docker-archive
// tarball (`docker save`) has no manifest digest, so LoadArchive checks
// its config digest against the lock's config_digest; an OCI layout has
// manifests, so it is checked against the lock's digest.
//
// # Cache
//
// Fetched images are kept in one OCI image layout under CacheDir
// (os.UserCacheDir()/verify-release/images), guarded by an flock so
// concurrent runs are safe. Each use re-hashes the manifest, config and
// layer blobs; a blob whose content does not match its digest is deleted
// and fetched again.
package envpin
