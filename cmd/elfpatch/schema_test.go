package main

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pulseengine/elfpatch/patcher"
)

// jsonFields lists the JSON names of a struct type's fields (not those of
// an embedded struct).
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("json")
		if !ok || tag == "-" || f.Anonymous {
			continue
		}
		names = append(names, strings.Split(tag, ",")[0])
	}
	sort.Strings(names)
	return names
}

// documented parses docs/json.md into its tables: the fields each shape
// or report lists, and each row's text.
func documented(t *testing.T) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile("^(?:\\*\\*([a-z]+)\\*\\*|### (elfpatch/[a-z]+/[0-9]+))")
	row := regexp.MustCompile("^\\| `([a-z_0-9]+)` \\|(.*)$")
	tables := map[string]map[string]string{}
	var current string
	for _, line := range strings.Split(string(data), "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			current = m[1] + m[2]
			tables[current] = map[string]string{}
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && current != "" {
			tables[current][m[1]] = m[2]
		}
	}
	return tables
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// docs/json.md must list exactly the fields the reports can have: a field
// added to a report without its documentation, or documented and gone,
// fails here.
func TestTheJSONSchemaDocumentsEveryField(t *testing.T) {
	tables := documented(t)
	for name, typ := range map[string]reflect.Type{
		"import":             reflect.TypeOf(patcher.Import{}),
		"site":               reflect.TypeOf(patcher.Site{}),
		"allocator":          reflect.TypeOf(patcher.Allocator{}),
		"provenance":         reflect.TypeOf(patcher.Provenance{}),
		"plan":               reflect.TypeOf(patcher.Plan{}),
		"elfpatch/inspect/1": reflect.TypeOf(patcher.Report{}),
		"elfpatch/verify/1":  reflect.TypeOf(patcher.VerifyReport{}),
		"elfpatch/patch/1":   reflect.TypeOf(patchResult{}),
	} {
		table, ok := tables[name]
		if !ok {
			t.Errorf("docs/json.md has no table for %s", name)
			continue
		}
		if got, want := strings.Join(keys(table), " "), strings.Join(jsonFields(typ), " "); got != want {
			t.Errorf("%s: documented fields\n  %s\nbut the report has\n  %s", name, got, want)
		}
	}
	// Objects described inline in a row name each of their fields.
	for _, c := range []struct {
		table, row string
		typ        reflect.Type
	}{
		{"plan", "slot", reflect.TypeOf(patcher.Slot{})},
		{"plan", "arena", reflect.TypeOf(patcher.Arena{})},
		{"plan", "state", reflect.TypeOf(patcher.State{})},
		{"plan", "changes", reflect.TypeOf(patcher.Change{})},
		{"elfpatch/verify/1", "sites", reflect.TypeOf(patcher.VerifiedSite{})},
	} {
		text := tables[c.table][c.row]
		for _, f := range jsonFields(c.typ) {
			if !strings.Contains(text, "`"+f+"`") {
				t.Errorf("docs/json.md, %s.%s does not name the field %s", c.table, c.row, f)
			}
		}
	}
	if got := strings.Join(keys(tables["elfpatch/error/1"]), " "); got != "errors file ok schema" {
		t.Errorf("elfpatch/error/1 documents %s", got)
	}
}
