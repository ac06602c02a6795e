// Package rootfs turns a locked list of Debian packages into a
// single-layer OCI image whose bytes depend on the lock alone: the .debs
// are fetched by SHA-256, installed by mmdebstrap from a local repository
// that holds exactly them (so no resolver can pick anything else), and
// the root filesystem tar is normalized — mtimes clamped to the lock's
// SOURCE_DATE_EPOCH, logs, caches and host files (hostname, resolv.conf)
// dropped, machine-id empty — before it becomes the layer. The image
// config carries no wall-clock time, so two builds of one lock, on two
// machines, give one image digest and one config digest (the Docker
// image ID).
package rootfs
