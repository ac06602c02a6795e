package verdict

import (
	"context"
	"fmt"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/fingerprint"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// SuggestEnvironment names the environments of pkg/fingerprint's shipped
// table (fingerprint.Known) whose tool versions write the generator stamps
// of the tarball at path (the published copy), for a diff whose only
// content differences are version strings (res.OnlyVersionStrings).
// It returns "" when the diff has other differences or no environment
// matches without a contradiction. The Debian suites the mirror serves
// are not consulted (that needs the network; `verify-release fingerprint`
// does it).
func SuggestEnvironment(ctx context.Context, res *tarball.DiffResult, path string) (string, error) {
	if !res.OnlyVersionStrings() {
		return "", nil
	}
	fp, err := fingerprint.Scan(ctx, path)
	if err != nil {
		return "", err
	}
	rk := fingerprint.Rank(fp, fingerprint.Known())
	var names []string
	for _, c := range rk.Candidates {
		if c.Mismatches == 0 && c.Matches > 0 {
			names = append(names, c.Env.Name)
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	var tools []string
	for _, h := range res.Hints() {
		if h.A != "" {
			tools = append(tools, h.Tool+" "+h.A)
		}
	}
	return fmt.Sprintf("the stamps of %s (%s) are what %s writes (verify-release's shipped environment table; run 'verify-release fingerprint' for the Debian suites)",
		res.A.Name, strings.Join(tools, ", "), strings.Join(names, " or ")), nil
}
