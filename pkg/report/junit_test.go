package report_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// sampleReports covers every status, a run-level error, warnings and
// strings that need XML escaping (markup characters, quotes, control
// characters, invalid UTF-8).
func sampleReports() []*report.Report {
	ntlm := &report.Report{
		Schema: report.SchemaVersion,
		Recipe: report.Recipe{Name: "libntlm", Version: "1.8", Path: "recipes/libntlm/1.8.toml"},
		Artifacts: []report.Artifact{
			{Name: "src", File: "libntlm-1.8-src.tar.gz", Method: "git-archive", Expected: strings.Repeat("a", 64), Actual: strings.Repeat("a", 64), Status: report.Reproduced, Seconds: 1.25},
			{Name: "dist", File: "libntlm-1.8.tar.gz", Method: "build", Expected: strings.Repeat("b", 64), Actual: strings.Repeat("c", 64), Status: report.Mismatch, Seconds: 30.5,
				Diff: &report.Diff{File: "libntlm-1.8.tar.gz.diff", Summary: "tar streams differ: 1 content", Members: []string{"libntlm-1.8/configure", "libntlm-1.8/m4/<weird & \"name\">\x01"}}},
			{Name: "sig", File: "x.tar.gz", Method: "build", Expected: strings.Repeat("d", 64), Status: report.Rejected, Signature: &report.Signature{Status: "BAD", Error: "bad signature\nsecond line"}},
		},
		Warnings: []string{"image docker.io/library/ubuntu:22.04 is not pinned"},
	}
	broken := &report.Report{
		Schema: report.SchemaVersion,
		Recipe: report.Recipe{Name: "demo", Version: "2.0"},
		Artifacts: []report.Artifact{
			{Name: "src", File: "demo-2.0-src.tar.gz", Status: report.Error, Error: "git: \xff tag v2.0 moved <here>"},
			{Name: "dist", File: "demo-2.0.tar.gz", Status: report.Skipped},
		},
		Error: "tag v2.0 resolves to 1111, the recipe pins 2222",
	}
	empty := &report.Report{Schema: report.SchemaVersion, Recipe: report.Recipe{Name: "demo", Version: "1.0"}}
	// Out of order on purpose: the writer sorts by name, then version.
	return []*report.Report{ntlm, broken, empty}
}

func TestWriteJUnitGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, report.WriteJUnit(&buf, sampleReports()...))
	golden := filepath.Join("testdata", "junit.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run 'go test ./pkg/report -run Golden -update' to create it")
	assert.Equal(t, string(want), buf.String())

	// Same input in another order gives the same bytes.
	r := sampleReports()
	var again bytes.Buffer
	require.NoError(t, report.WriteJUnit(&again, r[2], r[0], r[1]))
	assert.Equal(t, buf.String(), again.String())
}

// xmlNode is a generic element tree read with encoding/xml's tokenizer,
// independent of the structs the writer marshals.
type xmlNode struct {
	Name     string
	Attrs    map[string]string
	Children []*xmlNode
	Text     string
}

func parseXML(t *testing.T, data []byte) *xmlNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the output must be well-formed XML")
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{Name: tk.Name.Local, Attrs: map[string]string{}}
			for _, a := range tk.Attr {
				n.Attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				require.Nil(t, root, "one root element")
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tk)
			}
		}
	}
	require.NotNil(t, root)
	return root
}

// junitSchema is the element and attribute structure of the JUnit XSD
// GitLab accepts (the Jenkins/Ant junit schema): allowed children and
// attributes per element, and required attributes.
var junitSchema = map[string]struct {
	children []string
	attrs    []string
	required []string
}{
	"testsuites": {[]string{"testsuite"}, []string{"name", "time", "tests", "failures", "errors", "skipped", "disabled"}, nil},
	"testsuite": {[]string{"properties", "testcase", "system-out", "system-err"},
		[]string{"name", "tests", "failures", "errors", "skipped", "time", "disabled", "hostname", "id", "package", "timestamp", "file"}, []string{"name", "tests"}},
	"properties": {[]string{"property"}, nil, nil},
	"property":   {nil, []string{"name", "value"}, []string{"name", "value"}},
	"testcase": {[]string{"skipped", "error", "failure", "system-out", "system-err"},
		[]string{"name", "classname", "time", "assertions", "status", "file", "line"}, []string{"name"}},
	"failure":    {nil, []string{"message", "type"}, nil},
	"error":      {nil, []string{"message", "type"}, nil},
	"skipped":    {nil, []string{"message"}, nil},
	"system-out": {nil, nil, nil},
	"system-err": {nil, nil, nil},
}

func checkSchema(t *testing.T, n *xmlNode, path string) {
	t.Helper()
	spec, ok := junitSchema[n.Name]
	require.True(t, ok, "%s: element <%s> is not in the JUnit schema", path, n.Name)
	for a := range n.Attrs {
		assert.Contains(t, spec.attrs, a, "%s: attribute %q not allowed on <%s>", path, a, n.Name)
	}
	for _, a := range spec.required {
		assert.Contains(t, n.Attrs, a, "%s: <%s> needs attribute %q", path, n.Name, a)
	}
	for _, a := range []string{"tests", "failures", "errors", "skipped"} {
		if v, ok := n.Attrs[a]; ok {
			_, err := strconv.ParseUint(v, 10, 32)
			assert.NoError(t, err, "%s: %s=%q must be a count", path, a, v)
		}
	}
	if v, ok := n.Attrs["time"]; ok {
		f, err := strconv.ParseFloat(v, 64)
		assert.NoError(t, err, "%s: time=%q", path, v)
		assert.GreaterOrEqual(t, f, 0.0)
	}
	// The XSD's order inside <testcase>: skipped, error, failure, then output.
	if n.Name == "testcase" {
		rank := map[string]int{"skipped": 0, "error": 1, "failure": 2, "system-out": 3, "system-err": 4}
		last := -1
		for _, c := range n.Children {
			assert.GreaterOrEqual(t, rank[c.Name], last, "%s: <%s> out of order", path, c.Name)
			last = rank[c.Name]
		}
	}
	for i, c := range n.Children {
		assert.Contains(t, spec.children, c.Name, "%s: <%s> not allowed inside <%s>", path, c.Name, n.Name)
		checkSchema(t, c, fmt.Sprintf("%s/%s[%d]", path, c.Name, i))
	}
}

func count(n *xmlNode, name string) int {
	k := 0
	for _, c := range n.Children {
		if c.Name == name {
			k++
		}
	}
	return k
}

func TestWriteJUnitSchemaAndContent(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, report.WriteJUnit(&buf, sampleReports()...))
	root := parseXML(t, buf.Bytes())
	require.Equal(t, "testsuites", root.Name)
	checkSchema(t, root, "testsuites")

	// Suites sorted by name then version.
	require.Len(t, root.Children, 3)
	var names []string
	for _, s := range root.Children {
		names = append(names, s.Attrs["name"])
	}
	assert.Equal(t, []string{"demo 1.0", "demo 2.0", "libntlm 1.8"}, names)

	// Counts in attributes agree with the elements present.
	totals := map[string]int{}
	for _, s := range root.Children {
		var tests, fails, errs, skips int
		for _, c := range s.Children {
			if c.Name != "testcase" {
				continue
			}
			tests++
			fails += count(c, "failure")
			errs += count(c, "error")
			skips += count(c, "skipped")
		}
		assert.Equal(t, strconv.Itoa(tests), s.Attrs["tests"], s.Attrs["name"])
		assert.Equal(t, strconv.Itoa(fails), s.Attrs["failures"], s.Attrs["name"])
		assert.Equal(t, strconv.Itoa(errs), s.Attrs["errors"], s.Attrs["name"])
		assert.Equal(t, strconv.Itoa(skips), s.Attrs["skipped"], s.Attrs["name"])
		totals["tests"] += tests
		totals["failures"] += fails
		totals["errors"] += errs
		totals["skipped"] += skips
	}
	// By hand: demo 1.0 = run error; demo 2.0 = src error, dist skipped,
	// run error; libntlm = src ok, dist mismatch, sig rejected.
	assert.Equal(t, map[string]int{"tests": 7, "failures": 2, "errors": 3, "skipped": 1}, totals)
	for k, v := range totals {
		assert.Equal(t, strconv.Itoa(v), root.Attrs[k], k)
	}

	ntlm := root.Children[2]
	cases := ntlm.Children
	assert.Equal(t, "libntlm/1.8", cases[0].Attrs["classname"])
	assert.Equal(t, "src libntlm-1.8-src.tar.gz", cases[0].Attrs["name"])
	assert.Equal(t, "1.250", cases[0].Attrs["time"])
	assert.Zero(t, count(cases[0], "failure")+count(cases[0], "error")+count(cases[0], "skipped"))

	fail := cases[1].Children[0]
	require.Equal(t, "failure", fail.Name)
	assert.Equal(t, "mismatch", fail.Attrs["type"])
	assert.Contains(t, fail.Attrs["message"], strings.Repeat("b", 64))
	assert.Contains(t, fail.Attrs["message"], strings.Repeat("c", 64))
	assert.Contains(t, fail.Text, "tar streams differ: 1 content")
	assert.Contains(t, fail.Text, "  libntlm-1.8/configure\n")
	// Markup survives the round trip; the control character (not allowed
	// in XML 1.0) is replaced, not written raw.
	assert.Contains(t, fail.Text, "libntlm-1.8/m4/<weird & \"name\">\uFFFD")
	assert.NotContains(t, buf.String(), "\x01")

	sig := cases[2].Children[0]
	assert.Equal(t, "failure", sig.Name)
	assert.Equal(t, "signature", sig.Attrs["type"])
	assert.Equal(t, "x.tar.gz: upstream signature rejected: bad signature", sig.Attrs["message"])

	demo2 := root.Children[1].Children
	require.Len(t, demo2, 3)
	assert.Equal(t, "error", demo2[0].Children[0].Name)
	assert.Equal(t, "error", demo2[0].Children[0].Attrs["type"])
	assert.Contains(t, demo2[0].Children[0].Attrs["message"], "tag v2.0 moved <here>")
	assert.Equal(t, "skipped", demo2[1].Children[0].Name)
	assert.Equal(t, "run", demo2[2].Attrs["name"])
	assert.Equal(t, "run", demo2[2].Children[0].Attrs["type"])
	assert.Equal(t, "tag v2.0 resolves to 1111, the recipe pins 2222", demo2[2].Children[0].Attrs["message"])

	demo1 := root.Children[0].Children
	require.Len(t, demo1, 1)
	assert.Equal(t, "the run recorded no artifacts", demo1[0].Children[0].Attrs["message"])

	// Warnings are kept as the suite's system-out.
	last := ntlm.Children[len(ntlm.Children)-1]
	assert.Equal(t, "system-out", last.Name)
	assert.Contains(t, last.Text, "warning: image docker.io/library/ubuntu:22.04 is not pinned")
}

func TestWriteJUnitNoReports(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, report.WriteJUnit(&buf))
	root := parseXML(t, buf.Bytes())
	checkSchema(t, root, "testsuites")
	assert.Equal(t, "0", root.Attrs["tests"])
	assert.Empty(t, root.Children)
}
