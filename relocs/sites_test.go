package relocs

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The fixtures in testdata/*/sites.txt share a format: one relocation a
// line, nine fields -- producer site type P S A object linked disassembly,
// the last one the rest of the line -- with blank and # lines between.

// siteRow is one row of a sites.txt, its fields split and P and S read.
type siteRow struct {
	f    []string
	P, S uint64
	path string
}

// producer, name, typ and objdump are the row's text fields.
func (r siteRow) producer() string { return r.f[0] }
func (r siteRow) name() string     { return r.f[1] }
func (r siteRow) typ() string      { return r.f[2] }
func (r siteRow) objdump() string  { return r.f[8] }

// addend reads field 5 as A (RELA architectures; ARM's field 5 is T).
func (r siteRow) addend(t *testing.T) int64 {
	t.Helper()
	A, err := strconv.ParseInt(r.f[5], 0, 64)
	if err != nil {
		r.fail(t, err)
	}
	return A
}

// bytes reads field i (6: object, 7: linked) as hex.
func (r siteRow) bytes(t *testing.T, i int) []byte {
	t.Helper()
	b, err := hex.DecodeString(r.f[i])
	if err != nil {
		r.fail(t, err)
	}
	return b
}

func (r siteRow) fail(t *testing.T, err error) {
	t.Helper()
	t.Fatalf("%s: %q: %v", r.path, strings.Join(r.f, " "), err)
}

// typeNamed is the relocation type a row names, from the types the test
// knows by name.
func typeNamed[T any](t *testing.T, r siteRow, byName map[string]T) T {
	t.Helper()
	typ, ok := byName[r.typ()]
	if !ok {
		t.Fatalf("%s: unknown type %s", r.path, r.typ())
	}
	return typ
}

// readSites reads a sites.txt's rows, leaving out lines that start with
// any of skip (rows of another kind).
func readSites(t *testing.T, path string, skip ...string) []siteRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []siteRow
	sc := bufio.NewScanner(f)
lines:
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, p := range skip {
			if strings.HasPrefix(line, p) {
				continue lines
			}
		}
		r := siteRow{f: strings.SplitN(line, " ", 9), path: path}
		if len(r.f) != 9 {
			t.Fatalf("%s: short line %q", path, line)
		}
		var err error
		if r.P, err = strconv.ParseUint(r.f[3], 0, 64); err == nil {
			r.S, err = strconv.ParseUint(r.f[4], 0, 64)
		}
		if err != nil {
			r.fail(t, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// namedSite is a fixture row of any architecture.
type namedSite interface{ siteName() string }

// pickSites returns the rows with these names, in the order asked, and
// fails the test for a name no row has.
func pickSites[S namedSite](t *testing.T, all []S, names ...string) []S {
	t.Helper()
	var out []S
	for _, name := range names {
		n := len(out)
		for _, s := range all {
			if s.siteName() == name {
				out = append(out, s)
			}
		}
		if len(out) == n {
			t.Fatalf("no site %s in sites.txt", name)
		}
	}
	return out
}

// firstSite returns the first row ok accepts, and fails the test, saying
// missing, when there is none.
func firstSite[S any](t *testing.T, rows []S, ok func(S) bool, missing string) S {
	t.Helper()
	for _, s := range rows {
		if ok(s) {
			return s
		}
	}
	t.Fatalf("%s in sites.txt", missing)
	var zero S
	return zero
}
