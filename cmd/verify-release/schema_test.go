package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/attest"
	"gitlab.com/verify-release/verify-release/pkg/audit"
	"gitlab.com/verify-release/verify-release/pkg/ci"
	"gitlab.com/verify-release/verify-release/pkg/compare"
	"gitlab.com/verify-release/verify-release/pkg/fingerprint"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/sign"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

var updateSchemas = flag.Bool("update", false, "rewrite docs/schema/*.json from the Go types")

// schemaDir holds the published JSON Schemas (docs/cli.md, "JSON").
const schemaDir = "../../docs/schema"

// schemaDoc is one published JSON document: its kind (the schema file's
// base name), its "schema" value and the Go type it is encoded from.
type schemaDoc struct {
	kind, id string
	typ      reflect.Type
	// toml: the document is the TOML encoding of typ turned into JSON
	// (recipe show --json): keys are TOML names and none is required.
	toml  bool
	extra map[string]any
}

type withSchema struct {
	Schema string `json:"schema"`
}

func schemaDocs() []schemaDoc {
	return []schemaDoc{
		{kind: "report", id: report.SchemaVersion, typ: reflect.TypeFor[report.Report]()},
		{kind: "diff", id: tarball.JSONSchema, typ: reflect.TypeFor[tarball.JSONReport]()},
		{kind: "results", id: ci.IndexSchema, typ: reflect.TypeFor[ci.Index]()},
		{kind: "compare", id: compare.JSONSchema, typ: reflect.TypeFor[struct {
			withSchema
			*compare.Result
			Agree bool `json:"agree"`
		}]()},
		{kind: "signature", id: "verify-release/signature/v1", typ: reflect.TypeFor[struct {
			withSchema
			*sign.Result
		}]()},
		{kind: "attestation", id: "verify-release/attestation/v1", typ: reflect.TypeFor[struct {
			withSchema
			*attest.Verified
		}]()},
		{kind: "cache-prune", id: "verify-release/cache-prune/v1", typ: reflect.TypeFor[struct {
			withSchema
			pruneResult
		}]()},
		{kind: "recipes", id: "verify-release/recipes/v1", typ: reflect.TypeFor[struct {
			withSchema
			Recipes []recipe.Entry `json:"recipes"`
		}]()},
		{kind: "audit", id: "verify-release/audit/v1", typ: reflect.TypeFor[struct {
			withSchema
			*audit.Report
		}]()},
		{kind: "fingerprint", id: fingerprint.Schema, typ: reflect.TypeFor[struct {
			withSchema
			*fingerprint.Report
		}]()},
		{kind: "recipe", id: "verify-release/recipe/v1", typ: reflect.TypeFor[recipe.Recipe](), toml: true,
			extra: map[string]any{"schema": map[string]any{"type": "string"}, "path": map[string]any{"type": "string"}, "sha256": map[string]any{"type": "string"}}},
	}
}

// genSchema is a JSON Schema (draft 2020-12) generated from a Go type the
// way encoding/json encodes it: a field without omitempty/omitzero is
// required, no other key is allowed, a slice is an array (so null fails),
// a time is an RFC 3339 string that is not year 1.
func genSchema(d schemaDoc) map[string]any {
	s := typeSchema(d.typ, d.toml)
	props := s["properties"].(map[string]any)
	for k, v := range d.extra {
		props[k] = v
	}
	props["schema"] = map[string]any{"const": d.id}
	if req, ok := s["required"].([]string); ok || !d.toml {
		if !contains(req, "schema") {
			req = append(req, "schema")
			sort.Strings(req)
		}
		s["required"] = req
	} else {
		s["required"] = []string{"schema"}
	}
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://gitlab.com/verify-release/verify-release/-/raw/main/docs/schema/" + d.kind + ".json"
	s["title"] = d.id
	return s
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func typeSchema(t reflect.Type, toml bool) map[string]any {
	switch {
	case t == reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time", "not": map[string]any{"pattern": "^0001-"}}
	case t == reflect.TypeFor[json.RawMessage]():
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeSchema(t.Elem(), toml)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem(), toml)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem(), toml)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		required := []string{}
		addFields(t, toml, props, &required)
		sort.Strings(required)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if !toml {
			s["required"] = required
		}
		return s
	}
	panic("schema: unsupported type " + t.String())
}

func addFields(t reflect.Type, toml bool, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tagName := "json"
		if toml {
			tagName = "toml"
		}
		tag, hasTag := f.Tag.Lookup(tagName)
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && !hasTag {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, toml, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = typeSchema(f.Type, toml)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

func marshalSchema(t *testing.T, s map[string]any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(s))
	return b.Bytes()
}

// TestSchemasUpToDate: the published schemas are those generated from the
// Go types that encode each document (go test -run TestSchemas -update
// rewrites them after a type changes).
func TestSchemasUpToDate(t *testing.T) {
	for _, d := range schemaDocs() {
		got := marshalSchema(t, genSchema(d))
		file := filepath.Join(schemaDir, d.kind+".json")
		if *updateSchemas {
			require.NoError(t, os.WriteFile(file, got, 0o644))
			continue
		}
		want, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s is out of date: run go test ./cmd/verify-release -run TestSchemasUpToDate -update", file)
	}
}

// compileSchema compiles docs/schema/KIND.json.
func compileSchema(kind string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	return c.Compile(filepath.Join(schemaDir, kind+".json"))
}

// validateJSON checks data against the published schema of kind.
func validateJSON(kind string, data []byte) error {
	sch, err := compileSchema(kind)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(doc)
}

// TestSchemasRejectTheOldShapes: the schemas can fail — null lists, year
// 1 times, camelCase and Go field names, a missing "schema" are refused.
func TestSchemasRejectTheOldShapes(t *testing.T) {
	bad := map[string]string{
		"report":      `{"schema":1,"tool":{"name":"verify-release","version":"x"},"recipe":{"name":"a","version":"1","path":"p","sha256":"s"},"source":{"git":"g","tag":"t","commit":"c","commit_time":"0001-01-01T00:00:00Z"},"artifacts":null,"result":"ERROR"}`,
		"signature":   `{"schema":"verify-release/signature/v1","status":"good","file":"f","signature":"s","primaryFingerprint":"X"}`,
		"cache-prune": `{"Removed":null,"Busy":null,"Containers":null}`,
		"recipes":     `[{"name":"libntlm","version":"1.8","path":"p"}]`,
	}
	for kind, doc := range bad {
		assert.Error(t, validateJSON(kind, []byte(doc)), kind)
	}
}
