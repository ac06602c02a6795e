// Package recipes holds the recipes that ship with verify-release, so that
// `verify-release NAME VERSION` works without a checkout of this repository.
package recipes

import "embed"

// FS holds NAME/VERSION.toml recipes, their lock files and keys/.
//
//go:embed */*.toml */*.lock keys
var FS embed.FS
