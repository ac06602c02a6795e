package fingerprint

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/debian"
)

// DebianSuites are the Debian suites the mirror serves that
// DebianEnvironments reads by default, newest first.
var DebianSuites = []string{"trixie", "bookworm", "bullseye"}

var debianReleases = map[string]string{"bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14"}

// WantedPackages is the sorted set of packages Rank compares for fp: the
// generators' packages and every package a release-tools manifest names.
func WantedPackages(fp *Fingerprint) []string {
	set := map[string]bool{}
	for _, p := range ToolPackages() {
		set[p] = true
	}
	for _, e := range fp.Evidence {
		if e.Tool == ToolReleaseTools {
			name, _, _ := strings.Cut(e.Value, "=")
			set[name] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// DebianEnvironments reads the main amd64 Packages index of each suite
// through c (InRelease signature and index sha256 verified by pkg/debian)
// and returns one Environment per suite with the versions of packages.
func DebianEnvironments(ctx context.Context, c *debian.Client, packages []string, suites ...string) ([]Environment, error) {
	if len(suites) == 0 {
		suites = DebianSuites
	}
	want := map[string]bool{}
	for _, p := range packages {
		want[p] = true
	}
	var out []Environment
	for _, suite := range suites {
		rel, err := c.Release(ctx, suite)
		if err != nil {
			return nil, fmt.Errorf("fingerprint: Debian %s: %w", suite, err)
		}
		pkgs, err := c.Packages(ctx, rel, "main", "amd64")
		if err != nil {
			return nil, fmt.Errorf("fingerprint: Debian %s: %w", suite, err)
		}
		env := Environment{Distro: "debian", Suite: suite, Packages: map[string]string{},
			Source: fmt.Sprintf("%s/dists/%s/InRelease (Date %s, signed by %s), main/binary-amd64/Packages",
				rel.Root, suite, rel.Date.UTC().Format("2006-01-02"), rel.SignedBy)}
		env.Name = "Debian " + suite
		if n, ok := debianReleases[suite]; ok {
			env.Name = "Debian " + n + " (" + suite + ")"
		}
		for _, p := range pkgs {
			if want[p.Name] && (p.Architecture == "all" || p.Architecture == "amd64") {
				env.Packages[p.Name] = p.Version
			}
		}
		out = append(out, env)
	}
	return out, nil
}
