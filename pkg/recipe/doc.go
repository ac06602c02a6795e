// Package recipe reads, validates and locates verify-release recipes: TOML
// files at recipes/NAME/VERSION.toml that pin the upstream source, the
// build environment and the expected digests of every published artifact.
//
// Decoding is strict: an unknown key, a value of the wrong type or a
// missing required field is an error that names the file, the line and the
// key. See docs/recipes.md for the reference of every key.
package recipe
