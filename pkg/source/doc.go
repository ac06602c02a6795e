// Package source fetches the pinned upstream source of a recipe: a cached
// git mirror, the check that a tag still resolves to the pinned commit, a
// checkout with .git, and the checkout as a tar stream with the recipe's
// mtime policy applied.
package source
