// Package ci generates the GitLab CI child pipeline that verifies recipes
// (one job per recipe, in the recipe's pinned image) and renders the
// results page (Markdown, HTML, combined JUnit) of such a pipeline.
package ci
