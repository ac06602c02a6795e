package ci

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/report"
)

// measureJS runs in the page (a copy of it: the published page has no
// scripts) and records the layout the test checks.
const measureJS = `<script>
(function () {
  var vw = document.documentElement.clientWidth;
  var badges = Array.prototype.map.call(document.querySelectorAll('.badge'), function (b) {
    var r = b.getBoundingClientRect(), st = getComputedStyle(b);
    return {state: b.className.replace('badge ', ''), text: b.textContent, left: r.left, right: r.right, bg: st.backgroundColor, color: st.color};
  });
  var banner = document.getElementById('verdict').getBoundingClientRect();
  document.body.setAttribute('data-layout', JSON.stringify({
    viewport: vw,
    scrollWidth: document.documentElement.scrollWidth,
    theadShown: getComputedStyle(document.querySelector('thead')).display !== 'none',
    bannerTop: banner.top, bannerBottom: banner.bottom, bannerBg: getComputedStyle(document.getElementById('verdict')).backgroundColor,
    badges: badges
  }));
})();
</script>
`

type pageLayout struct {
	Viewport    float64 `json:"viewport"`
	ScrollWidth float64 `json:"scrollWidth"`
	TheadShown  bool    `json:"theadShown"`
	BannerTop   float64 `json:"bannerTop"`
	BannerBg    string  `json:"bannerBg"`
	Badges      []struct {
		State, Text, Bg, Color string
		Left, Right            float64
	} `json:"badges"`
}

var layoutAttr = regexp.MustCompile(`data-layout="([^"]*)"`)

// chromiumLayout loads page in headless Chromium at width x 900 and
// returns what measureJS recorded.
func chromiumLayout(t *testing.T, bin, page string, width int) pageLayout {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--window-size="+strconv.Itoa(width)+",900", "--virtual-time-budget=3000",
		"--dump-dom", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	m := layoutAttr.FindSubmatch(out)
	require.NotNil(t, m, "no layout recorded; chromium printed:\n%s\n%s", out, stderr.String())
	var l pageLayout
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &l))
	return l
}

// TestResultsPageInChromium renders the results page in a real headless
// Chromium (Debian package chromium) at 1280 and 400 px: no horizontal
// scroll, every verdict badge inside the viewport, the banner on top,
// one distinct colour per state, and at 400 px the rows as blocks.
func TestResultsPageInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is required (apt-get install chromium; .ci/run installs it): %v", err)
	}
	long := strings.Repeat("very-long-project-name-", 4)
	mk := func(name string, st report.Status, detail string) *Entry {
		a := report.Artifact{Name: "dist", File: name + "-1.0-with-a-long-file-name.tar.gz", Status: st, Error: detail}
		if st == report.Skipped {
			a.Error, a.Reason = "", detail
		}
		rep := &report.Report{Recipe: report.Recipe{Name: name, Version: "1.0"}, Artifacts: []report.Artifact{a}}
		rep.Finish()
		return &Entry{Report: rep, Dir: t.TempDir()}
	}
	res := &Results{
		Entries: []*Entry{
			mk("alpha", report.Reproduced, ""),
			mk(long, report.Mismatch, "tar streams differ: 4071 mtime "+strings.Repeat("x", 120)),
			mk("gamma", report.Error, `artifact dist: command "make dist" exited with code 2`),
			mk("delta", report.Rejected, "upstream signature rejected"),
			mk("epsilon", report.Skipped, "not selected: this run re-created only src"),
		},
		Missing: []string{"zeta/9.9"},
		Info:    PageInfo{Generated: time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC), Version: "test", Commit: strings.Repeat("c", 40)},
	}
	var page bytes.Buffer
	require.NoError(t, res.WriteHTML(&page))
	file := filepath.Join(t.TempDir(), "index.html")
	require.NoError(t, os.WriteFile(file, bytes.Replace(page.Bytes(), []byte("</body>"), []byte(measureJS+"</body>"), 1), 0o644))

	for _, width := range []int{1280, 400} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			l := chromiumLayout(t, bin, file, width)
			assert.LessOrEqual(t, l.ScrollWidth, l.Viewport, "no horizontal scroll")
			assert.Less(t, l.BannerTop, 200.0, "the verdict banner is at the top")
			assert.Equal(t, "rgb(255, 235, 233)", l.BannerBg, "a failing page has the red banner")
			assert.Equal(t, width > 640, l.TheadShown, "a table on wide screens, blocks on narrow ones")
			require.Len(t, l.Badges, 6)
			bg := map[string]string{}
			for _, b := range l.Badges {
				assert.GreaterOrEqual(t, b.Left, 0.0, b.State)
				assert.LessOrEqual(t, b.Right, l.Viewport, "the %s badge is on screen", b.State)
				assert.Contains(t, b.Text, b.State)
				bg[b.State] = b.Bg
			}
			// Failures first (by project: delta, gamma, very-long..., zeta),
			// then skipped, then reproduced.
			for i, want := range []string{"SIGNATURE_REJECTED", "ERROR", "MISMATCH", "MISSING", "SKIPPED", "REPRODUCED"} {
				assert.Equal(t, want, l.Badges[i].State, "row %d", i)
			}
			seen := map[string]string{}
			for state, c := range bg {
				assert.NotContains(t, seen, c, "%s and %s share the colour %s", state, seen[c], c)
				seen[c] = state
			}
		})
	}
}
