package relocs

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The fixtures in testdata/*/sites.txt share a format: one relocation a
// line, nine fields -- producer site type P S A object linked disassembly,
// the last one the rest of the line -- with blank and # lines between.

// readSiteLines splits a sites.txt's rows into their nine fields, leaving
// out lines that start with any of skip (rows of another kind).
func readSiteLines(t *testing.T, path string, skip ...string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
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
		fields := strings.SplitN(line, " ", 9)
		if len(fields) != 9 {
			t.Fatalf("%s: short line %q", path, line)
		}
		rows = append(rows, fields)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// parseRELANumbers reads the P, S and A fields of a row (the A field of
// the REL architecture, ARM, holds something else).
func parseRELANumbers(f []string) (P, S uint64, A int64, err error) {
	P, err = strconv.ParseUint(f[3], 0, 64)
	if err == nil {
		S, err = strconv.ParseUint(f[4], 0, 64)
	}
	if err == nil {
		A, err = strconv.ParseInt(f[5], 0, 64)
	}
	return P, S, A, err
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
