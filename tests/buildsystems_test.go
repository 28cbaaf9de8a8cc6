package tests

// Build-system integration: each example under examples/ (bazel, cmake,
// make) is built as the README's section for it says, and its image is
// checked and run.
//
//   - Bazel: the elfpatch_image macro (build/bazel/elfpatch.bzl) and a plain
//     genrule patch examples/cortex-m3/app.elf in a throwaway workspace,
//     with elfpatch as a prebuilt tool and no external repository. The
//     outputs equal what elfpatch gives by hand, come out byte for byte the
//     same from a clean build, and a rerun executes nothing.
//   - CMake: CMAKE_C_LINKER_LAUNCHER puts elfpatch-ld in front of the link.
//   - Make: the link rule runs elfpatch-ld.
//
// The CMake and Make images are verified by elfpatch verify and run under
// QEMU mps2-an385.

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Build tools looked up in PATH (Debian: bazel-bootstrap, cmake, make).
const (
	toolBazel = "bazel"
	toolCMake = "cmake"
	toolMake  = "make"
)

// copyInto copies src to dst, creating dst's directory, with mode perm.
func copyInto(t testing.TB, src, dst string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, readFile(t, src), perm); err != nil {
		t.Fatal(err)
	}
}

// runIn runs name in dir and fails the test, showing its
// output, unless it exits 0. It returns stdout and stderr together.
func runIn(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s (in %s): %v\n%s", commandLine(name, args), dir, err, out)
	}
	return string(out)
}

// imageArenaSize reads the arena's size from a linked image: the distance
// between the documented symbols __elfpatch_arena_start and
// __elfpatch_arena_end.
func imageArenaSize(t testing.TB, image string) uint64 {
	t.Helper()
	f, err := elf.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v", image, err)
	}
	var start, end uint64
	var found int
	for _, s := range syms {
		switch s.Name {
		case "__elfpatch_arena_start":
			start, found = s.Value, found|1
		case "__elfpatch_arena_end":
			end, found = s.Value, found|2
		}
	}
	if found != 3 {
		t.Fatalf("%s: no __elfpatch_arena_start/__elfpatch_arena_end symbols", image)
	}
	return end - start
}

// requirePatchedExample checks that image, the examples/cortex-m3 program
// built by a build system, was patched with an arena of wantArena bytes:
// elfpatch verify passes, and it runs under QEMU printing what the README
// says it prints.
func requirePatchedExample(t testing.TB, image string, wantArena uint64) {
	t.Helper()
	requireVerifiedArena(t, image, wantArena)
	requireRun(t, image, "", exitPass,
		"string at 0x20000000: hello from the arena",
		"list at 0x20000018, grown in place, list[3] = 9",
		"string moved to 0x20000118: hello from the arena")
}

// bazelSpawn is one action Bazel executed, as its JSON execution log
// (--execution_log_json_file) records it: the log holds one object per
// spawn that ran, and none for an action the action cache answered.
type bazelSpawn struct {
	CommandArgs   []string `json:"commandArgs"`
	Mnemonic      string   `json:"mnemonic"`
	ListedOutputs []string `json:"listedOutputs"`
}

// readBazelExecLog reads Bazel's JSON execution log: a stream of objects.
func readBazelExecLog(t testing.TB, path string) []bazelSpawn {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("bazel wrote no execution log: %v", err)
	}
	defer f.Close()
	var spawns []bazelSpawn
	dec := json.NewDecoder(f)
	for {
		var s bazelSpawn
		if err := dec.Decode(&s); errors.Is(err, io.EOF) {
			return spawns
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		spawns = append(spawns, s)
	}
}

// bazelProcessSummary matches Bazel's line "INFO: 3 processes: 1 internal, 2
// linux-sandbox." and captures the list of runners.
var bazelProcessSummary = regexp.MustCompile(`(?m)^INFO: \d+ process(?:es)?: (.*)\.$`)

// The Bazel example (examples/bazel, with build/bazel/elfpatch.bzl) in a
// workspace of its own, set up as the README says: the macro's directory
// copied in, the input image beside the BUILD file, elfpatch prebuilt in
// tools/. Bazel runs in batch mode (no server left behind) with its
// output base inside the test's temporary directory and no rc file but the
// system's (Debian's names its install base).
//
// Proved: both targets build and equal elfpatch run by hand on the same
// input (so the genrule adds nothing of its own, e.g. no path); a rerun,
// after the input's time changed but not its bytes, executes no action
// (its execution log is empty, where the first build's lists both
// genrules) and leaves the outputs untouched; after bazel clean --expunge
// both actions run again and give the same bytes.
func TestBazelMacroAndGenrulePatchCachedAndReproducibly(t *testing.T) {
	requireTools(t, toolBazel)
	t.Parallel()
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	root := filepath.Join(dir, "bazel-root")
	t.Cleanup(func() { makeTreeWritable(dir) })

	for _, f := range []string{"WORKSPACE", "BUILD.bazel", "tools/BUILD.bazel"} {
		copyInto(t, repoPath(t, "examples/bazel/"+f), filepath.Join(ws, f), 0o644)
	}
	for _, f := range []string{"BUILD.bazel", "elfpatch.bzl"} {
		copyInto(t, repoPath(t, "build/bazel/"+f), filepath.Join(ws, "build/bazel", f), 0o644)
	}
	input := filepath.Join(ws, "app.elf")
	copyInto(t, repoPath(t, "examples/cortex-m3/app.elf"), input, 0o644)
	copyInto(t, elfpatchPath(t), filepath.Join(ws, "tools/elfpatch"), 0o755)

	targets := map[string]struct {
		label, arena string
		size         uint64
	}{
		"app_16k.elf": {"//:app_16k", "16K", 16384}, // the macro
		"app_8k.elf":  {"//:app_8k", "8K", 8192},    // the plain genrule
	}
	build := func(log string) (output string, spawns []bazelSpawn) {
		t.Helper()
		args := []string{"--batch", "--nohome_rc", "--output_user_root=" + root, "build",
			// Debian's /etc/bazel/bazelrc turns on --sandbox_debug,
			// which prints the sandbox's trace for every action.
			"--nosandbox_debug", "--incompatible_strict_action_env",
			"--color=no", "--curses=no", "--execution_log_json_file=" + log}
		for _, tg := range targets {
			args = append(args, tg.label)
		}
		out := runIn(t, ws, toolBazel, args...)
		return out, readBazelExecLog(t, log)
	}
	outputs := func() map[string][]byte {
		t.Helper()
		m := map[string][]byte{}
		for name := range targets {
			m[name] = readFile(t, filepath.Join(ws, "bazel-bin", name))
		}
		return m
	}
	requireBothRan := func(what string, spawns []bazelSpawn) {
		t.Helper()
		ran := map[string]bool{}
		for _, s := range spawns {
			if s.Mnemonic == "Genrule" && len(s.ListedOutputs) == 1 && strings.Contains(strings.Join(s.CommandArgs, " "), "tools/elfpatch ") {
				ran[filepath.Base(s.ListedOutputs[0])] = true
			}
		}
		for name := range targets {
			if !ran[name] {
				t.Fatalf("%s: the execution log has no elfpatch genrule for %s: %+v", what, name, spawns)
			}
		}
	}

	// A first build runs both genrules.
	_, spawns := build(filepath.Join(dir, "exec-first.json"))
	requireBothRan("first build", spawns)
	first := outputs()
	for name, tg := range targets {
		hand := filepath.Join(dir, "hand-"+name)
		mustElfpatch(t, "--arena-size", tg.arena, "-o", hand, input)
		if !sameFile(t, hand, filepath.Join(ws, "bazel-bin", name)) {
			t.Errorf("%s: bazel's output differs from elfpatch --arena-size %s -o OUT app.elf", tg.label, tg.arena)
		}
		requireVerifiedArena(t, filepath.Join(ws, "bazel-bin", name), tg.size)
	}

	// A rerun is a cache hit: nothing executes, no output is rewritten;
	// Bazel keys on content, so a newer time on the input changes nothing.
	before := map[string]os.FileInfo{}
	for name := range targets {
		before[name] = statFile(t, filepath.Join(ws, "bazel-bin", name))
	}
	later := statFile(t, input).ModTime().Add(time.Hour)
	if err := os.Chtimes(input, later, later); err != nil {
		t.Fatal(err)
	}
	out, spawns := build(filepath.Join(dir, "exec-rerun.json"))
	if len(spawns) != 0 {
		t.Errorf("the rerun executed %d action(s), want none: %+v", len(spawns), spawns)
	}
	if m := bazelProcessSummary.FindStringSubmatch(out); m != nil {
		for _, runner := range strings.Split(m[1], ", ") {
			if !strings.HasSuffix(runner, " internal") {
				t.Errorf("the rerun ran processes (%q):\n%s", m[0], out)
			}
		}
	}
	for name := range targets {
		after := statFile(t, filepath.Join(ws, "bazel-bin", name))
		if !after.ModTime().Equal(before[name].ModTime()) || !os.SameFile(after, before[name]) {
			t.Errorf("the rerun rewrote %s", name)
		}
	}

	// A clean build gives the same bytes.
	runIn(t, ws, toolBazel, "--batch", "--nohome_rc", "--output_user_root="+root, "clean", "--expunge")
	for name := range targets {
		if _, err := os.Stat(filepath.Join(ws, "bazel-bin", name)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("bazel clean --expunge left %s: %v", name, err)
		}
	}
	_, spawns = build(filepath.Join(dir, "exec-clean.json"))
	requireBothRan("clean build", spawns)
	for name, b := range outputs() {
		if string(b) != string(first[name]) {
			t.Errorf("%s differs between two clean builds", name)
		}
	}
}

func statFile(t testing.TB, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// makeTreeWritable gives the owner write permission on every directory under
// dir, so that the test's cleanup can remove what Bazel made read-only.
func makeTreeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o200 == 0 {
				os.Chmod(p, fi.Mode().Perm()|0o700)
			}
		}
		return nil
	})
}

// requireVerifiedArena checks that image passes elfpatch verify with an arena of
// want bytes.
func requireVerifiedArena(t testing.TB, image string, want uint64) {
	t.Helper()
	if r := runElfpatch(t, nil, "verify", image); r.code != 0 {
		t.Fatalf("elfpatch verify %s: exit %d\n%s%s", image, r.code, r.stdout, r.stderr)
	}
	if got := imageArenaSize(t, image); got != want {
		t.Errorf("%s: arena of %d bytes, want %d", image, got, want)
	}
}

// The CMake example (examples/cmake) configured and built in a build
// directory of its own: CMAKE_C_LINKER_LAUNCHER runs the link through
// elfpatch-ld with the arena size given at configure time, so app.elf
// comes out patched, and runs. A second build links nothing: the image
// patched in place is as up to date as any other link output. Another
// arena size at configure time relinks, and the image gets it.
func TestCMakeLinkerLauncherPatchesTheImage(t *testing.T) {
	requireTools(t, toolCMake, toolMake, toolGCC, toolQEMU)
	t.Parallel()
	build := t.TempDir()
	image := filepath.Join(build, "app.elf")
	configure := func(size string) {
		t.Helper()
		runIn(t, build, toolCMake, "-G", "Unix Makefiles", "-S", repoPath(t, "examples/cmake"), "-B", build,
			"-DELFPATCH="+elfpatchPath(t), "-DELFPATCH_ARENA_SIZE="+size)
	}
	links := func() bool {
		t.Helper()
		return strings.Contains(runIn(t, build, toolCMake, "--build", build), "Linking C executable app.elf")
	}
	configure("8K")
	if !links() {
		t.Fatal("cmake --build linked no app.elf")
	}
	requirePatchedExample(t, image, 8192)
	if links() {
		t.Error("a second cmake --build linked again")
	}
	configure("4K")
	if !links() {
		t.Fatal("cmake --build did not relink for ELFPATCH_ARENA_SIZE=4K")
	}
	requireVerifiedArena(t, image, 4096)
}

// The Make example (examples/make) built into a directory of its own: its
// link rule runs elfpatch-ld, so app.elf comes out patched, and runs. A
// second make links nothing; another ELFPATCH_ARENA_SIZE relinks.
func TestMakeLinkRulePatchesTheImage(t *testing.T) {
	requireTools(t, toolMake, toolGCC, toolQEMU)
	t.Parallel()
	build := t.TempDir()
	image := filepath.Join(build, "app.elf")
	links := func(size string) bool {
		t.Helper()
		out := runIn(t, build, toolMake, "-C", repoPath(t, "examples/make"), "BUILD="+build,
			"ELFPATCH="+elfpatchPath(t), "ELFPATCH_ARENA_SIZE="+size)
		return strings.Contains(out, "elfpatch-ld ")
	}
	if !links("8K") {
		t.Fatal("make linked no app.elf through elfpatch-ld")
	}
	requirePatchedExample(t, image, 8192)
	if links("8K") {
		t.Error("a second make linked again")
	}
	if !links("4K") {
		t.Fatal("make did not relink for ELFPATCH_ARENA_SIZE=4K")
	}
	requireVerifiedArena(t, image, 4096)
}
