package tests

// The real-world round trip: every object of Debian's embedded C libraries
// (newlib, picolibc), of the cross compilers' libgcc, and of the synth
// corpus goes through the reader and inspect without an error or a panic,
// and encodes back to its own bytes (patcher.RoundTrip: every header,
// symbol and relocation re-encoded from the decoded model, and a patch that
// changes nothing written out).
//
//	go test -run RoundTrip ./tests/                            a subset: one multilib of each
//	                                                           library, all of libgcc, the corpus
//	ELFPATCH_ROUNDTRIP=all go test -run RoundTrip -v ./tests/  every object of every multilib
//
// Both print how many objects and archives they checked.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulseengine/elfpatch/patcher"
)

// Where Debian installs the libraries (packages libnewlib-arm-none-eabi,
// picolibc-arm-none-eabi, picolibc-riscv64-unknown-elf), and the multilib
// of each the subset checks.
var roundTripLibraries = []struct {
	pkg, dir, subset string
}{
	{"libnewlib-arm-none-eabi", "/usr/lib/arm-none-eabi/newlib", "thumb/v7-m/nofp"},
	{"picolibc-arm-none-eabi", "/usr/lib/picolibc/arm-none-eabi/lib", "release/thumb/v7-m/nofp"},
	{"picolibc-riscv64-unknown-elf", "/usr/lib/picolibc/riscv64-unknown-elf/lib", "release/rv32imac/ilp32"},
}

// arMember is one file of an ar archive.
type arMember struct {
	name string
	data []byte
}

// readAr parses a System V / GNU ar archive: the symbol tables ("/",
// "/SYM64/") are skipped, long names come from the "//" table.
func readAr(data []byte) ([]arMember, error) {
	const magic = "!<arch>\n"
	if !bytes.HasPrefix(data, []byte(magic)) {
		if bytes.HasPrefix(data, []byte("!<thin>\n")) {
			return nil, errors.New("a thin archive (its members are not inside it)")
		}
		return nil, errors.New("not an ar archive")
	}
	var members []arMember
	var longNames []byte
	for off := len(magic); off < len(data); {
		if off+60 > len(data) {
			return nil, fmt.Errorf("offset %#x: truncated member header", off)
		}
		h := data[off : off+60]
		if string(h[58:60]) != "`\n" {
			return nil, fmt.Errorf("offset %#x: bad member header", off)
		}
		size, err := strconv.ParseUint(strings.TrimSpace(string(h[48:58])), 10, 63)
		if err != nil || size > uint64(len(data)-off-60) {
			return nil, fmt.Errorf("offset %#x: bad member size %q", off, h[48:58])
		}
		body := data[off+60 : off+60+int(size)]
		name := strings.TrimRight(string(h[:16]), " ")
		switch {
		case name == "/" || name == "/SYM64/":
		case name == "//":
			longNames = body
		case strings.HasPrefix(name, "/"):
			i, err := strconv.Atoi(name[1:])
			if err != nil || i < 0 || i >= len(longNames) {
				return nil, fmt.Errorf("offset %#x: bad long name %q", off, name)
			}
			n := longNames[i:]
			if end := bytes.Index(n, []byte("/\n")); end >= 0 {
				n = n[:end]
			}
			members = append(members, arMember{string(n), body})
		default:
			members = append(members, arMember{strings.TrimSuffix(name, "/"), body})
		}
		off += 60 + int(size)
		off += off & 1
	}
	return members, nil
}

// roundTripSource is a file to check: an archive, or one ELF file.
type roundTripSource struct {
	path string
	// what names the set it belongs to in the report.
	what string
}

// libgccDirs lists the directory of libgcc.a of every multilib of a cross
// compiler.
func libgccDirs(t *testing.T, gcc string) []string {
	t.Helper()
	out, err := exec.Command(gcc, "-print-multi-lib").Output()
	if err != nil {
		t.Fatalf("%s -print-multi-lib: %v", gcc, err)
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		_, flags, ok := strings.Cut(line, ";")
		if !ok {
			continue
		}
		args := []string{"-print-libgcc-file-name"}
		for _, f := range strings.Split(flags, "@") {
			if f != "" {
				args = append(args, "-"+f)
			}
		}
		lib, err := exec.Command(gcc, args...).Output()
		if err != nil {
			t.Fatalf("%s %s: %v", gcc, strings.Join(args, " "), err)
		}
		dirs = append(dirs, filepath.Dir(strings.TrimSpace(string(lib))))
	}
	return dirs
}

// roundTripSources finds what to check: every archive and object of the
// libraries (all multilibs, or the subset's), every archive and object
// beside each multilib's libgcc.a, and the synth corpus.
func roundTripSources(t *testing.T, all bool) []roundTripSource {
	t.Helper()
	var srcs []roundTripSource
	add := func(what, root string) {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".a") || strings.HasSuffix(path, ".o")) {
				srcs = append(srcs, roundTripSource{path, what})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, lib := range roundTripLibraries {
		requirePackageDir(t, lib.pkg, lib.dir)
		if all {
			add(lib.pkg, lib.dir)
			continue
		}
		// The subset: the multilib's own directory, not the ones below it.
		entries, err := os.ReadDir(filepath.Join(lib.dir, lib.subset))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".a") || strings.HasSuffix(e.Name(), ".o")) {
				srcs = append(srcs, roundTripSource{filepath.Join(lib.dir, lib.subset, e.Name()), lib.pkg})
			}
		}
	}
	requireTools(t, toolGCC, toolRISCVGCC)
	for _, gcc := range []string{toolGCC, toolRISCVGCC} {
		for _, dir := range libgccDirs(t, gcc) {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if !e.IsDir() && (strings.HasSuffix(e.Name(), ".a") || strings.HasSuffix(e.Name(), ".o")) {
					srcs = append(srcs, roundTripSource{filepath.Join(dir, e.Name()), gcc + " libgcc"})
				}
			}
		}
	}
	synth, err := filepath.Glob(repoPath(t, "testdata/synth/*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range synth {
		if strings.HasSuffix(p, ".o") || strings.HasSuffix(p, ".elf") {
			srcs = append(srcs, roundTripSource{p, "synth corpus"})
		}
	}
	return dedupe(srcs)
}

// requirePackageDir skips the test unless dir, which the Debian package pkg
// installs, is there; under CI=true its absence fails the test.
func requirePackageDir(t testing.TB, pkg, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err == nil {
		return
	}
	msg := fmt.Sprintf("%s is missing: install %s (tests/run does)", dir, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
	}
	t.Skip(msg)
}

// dedupe drops a file seen before under another name: libg.a is often a
// link to libc.a.
func dedupe(srcs []roundTripSource) []roundTripSource {
	type key struct{ dev, ino uint64 }
	seen := map[key]bool{}
	var out []roundTripSource
	for _, s := range srcs {
		st, err := os.Stat(s.path)
		if err != nil {
			continue
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			k := key{uint64(sys.Dev), sys.Ino}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, s)
	}
	return out
}

// roundTripTally is what the round trip saw.
type roundTripTally struct {
	mu                sync.Mutex
	objects, archives int
	files             int
	bytes             int64
	bySet             map[string]int
	byMachine         map[string]int
	actions           map[string]int
	refusals          map[string]int
	failures          []string
}

func (r *roundTripTally) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// checkObject reads one object, inspects it and round-trips it.
func (r *roundTripTally) checkObject(set, name string, data []byte) {
	machine, action, refusal := "", "", ""
	func() {
		defer func() {
			if p := recover(); p != nil {
				r.fail("%s: panic: %v", name, p)
			}
		}()
		img, err := patcher.Read(name, data)
		if err != nil {
			r.fail("read: %v", err)
			return
		}
		machine = fmt.Sprintf("%v %v", img.Machine, img.Class)
		rep := patcher.Inspect(img, patcher.Options{Version: "roundtrip"})
		switch {
		case rep.Plan != nil:
			action = rep.Plan.Action
		case len(rep.Problems) > 0:
			refusal = rep.Problems[0]
			if i := strings.LastIndex(refusal, ": "); i >= 0 {
				refusal = refusal[i+2:]
			}
		}
		if err := patcher.RoundTrip(img); err != nil {
			r.fail("round trip: %v", err)
		}
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.objects++
	r.bytes += int64(len(data))
	r.bySet[set]++
	if machine != "" {
		r.byMachine[machine]++
	}
	if action != "" {
		r.actions[action]++
	}
	if refusal != "" {
		r.refusals[refusal]++
	}
}

// checkSource checks an archive's every member, or one object.
func (r *roundTripTally) checkSource(src roundTripSource) {
	data, err := os.ReadFile(src.path)
	if err != nil {
		r.fail("%v", err)
		return
	}
	if !strings.HasSuffix(src.path, ".a") {
		r.mu.Lock()
		r.files++
		r.mu.Unlock()
		r.checkObject(src.what, src.path, data)
		return
	}
	members, err := readAr(data)
	if err != nil {
		r.fail("%s: %v", src.path, err)
		return
	}
	r.mu.Lock()
	r.archives++
	r.mu.Unlock()
	for _, m := range members {
		r.checkObject(src.what, src.path+"("+m.name+")", m.data)
	}
}

func TestRoundTripOfEveryRealObject(t *testing.T) {
	all := os.Getenv("ELFPATCH_ROUNDTRIP") == "all"
	srcs := roundTripSources(t, all)
	start := time.Now()
	tally := &roundTripTally{bySet: map[string]int{}, byMachine: map[string]int{}, actions: map[string]int{}, refusals: map[string]int{}}
	work := make(chan roundTripSource)
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for src := range work {
				tally.checkSource(src)
			}
		}()
	}
	for _, s := range srcs {
		work <- s
	}
	close(work)
	wg.Wait()

	scope := "subset (ELFPATCH_ROUNDTRIP=all for every multilib)"
	if all {
		scope = "every multilib"
	}
	t.Logf("round trip, %s: %d objects (%d archives, %d object files, %.1f MiB) in %v",
		scope, tally.objects, tally.archives, tally.files, float64(tally.bytes)/(1<<20), time.Since(start).Round(time.Millisecond))
	t.Logf("  by set: %s", counts(tally.bySet))
	t.Logf("  by machine: %s", counts(tally.byMachine))
	t.Logf("  inspect plans: %s", counts(tally.actions))
	if len(tally.refusals) > 0 {
		t.Logf("  inspect refusals: %s", counts(tally.refusals))
	}
	fmt.Printf("round trip: %d objects, %d archives, %d object files checked in %v\n",
		tally.objects, tally.archives, tally.files, time.Since(start).Round(time.Millisecond))
	sort.Strings(tally.failures)
	for i, f := range tally.failures {
		if i == 50 {
			t.Errorf("... and %d more", len(tally.failures)-50)
			break
		}
		t.Error(f)
	}
	if tally.objects < 100 {
		t.Errorf("only %d objects checked", tally.objects)
	}
}

// counts formats a tally, largest first.
func counts(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || l[i].v == l[j].v && l[i].k < l[j].k })
	var parts []string
	for _, e := range l {
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}
