package arenablob

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedObjectsMatchRecordedHashes(t *testing.T) {
	for _, v := range Variants() {
		sum := sha256.Sum256(v.Object)
		if got := hex.EncodeToString(sum[:]); got != v.SHA256 {
			t.Errorf("%s: embedded object hashes to %s, recorded %s", v.Name, got, v.SHA256)
		}
	}
}

func TestVariantsStartWithThumb2AndHaveDistinctNames(t *testing.T) {
	vs := Variants()
	want := []string{"thumb2", "thumb1", "rv32c", "rv32", "aarch64", "x86_64"}
	if len(vs) != len(want) {
		t.Fatalf("have %d variants, want %d", len(vs), len(want))
	}
	seen := map[string]bool{}
	for i, v := range vs {
		if seen[v.Name] {
			t.Errorf("two variants are called %q", v.Name)
		}
		seen[v.Name] = true
		if v.Name != want[i] {
			t.Errorf("variant %d is %q, want %q", i, v.Name, want[i])
		}
		if got, ok := ByName(v.Name); !ok || got.SHA256 != v.SHA256 {
			t.Errorf("ByName(%q) does not find it", v.Name)
		}
		if v.Suits == "" || v.Source == "" || len(v.Object) == 0 {
			t.Errorf("%s: incomplete entry", v.Name)
		}
		if _, err := os.Stat(v.Source); err != nil {
			t.Errorf("%s: source: %v", v.Name, err)
		}
	}
}

// buildTools names, per variant, the tool build.sh runs and the environment
// variable that replaces it (build.sh reads the same variables).
var buildTools = map[string]struct{ env, def string }{
	"thumb2":  {"ARM_AS", "arm-none-eabi-as"},
	"thumb1":  {"ARM_AS", "arm-none-eabi-as"},
	"rv32c":   {"RISCV_MC", "llvm-mc"},
	"rv32":    {"RISCV_MC", "llvm-mc"},
	"aarch64": {"AARCH64_AS", "aarch64-linux-gnu-as"},
	"x86_64":  {"X86_64_AS", "as"},

	"shim_thumb":   {"ARM_AS", "arm-none-eabi-as"},
	"shim_rv32":    {"RISCV_MC", "llvm-mc"},
	"shim_aarch64": {"AARCH64_AS", "aarch64-linux-gnu-as"},
	"shim_x86_64":  {"X86_64_AS", "as"},
}

// built is one object build.sh makes: an allocator variant or a shim.
type built struct {
	name   string
	object []byte
}

// allBuilt lists every embedded object, allocators first, then shims.
func allBuilt() []built {
	var bs []built
	for _, v := range Variants() {
		bs = append(bs, built{v.Name, v.Object})
	}
	for _, s := range Shims() {
		bs = append(bs, built{s.Name, s.Object})
	}
	return bs
}

// needTool finds a tool a test runs.  CI installs every tool; a developer
// machine without one skips (with CI=true a missing tool fails).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return path
}

// The objects must be reproducible from their sources: rebuild each with its
// pinned assembler and compare byte for byte.
func TestRebuildReproducesEmbeddedObjects(t *testing.T) {
	for _, v := range allBuilt() {
		t.Run(v.name, func(t *testing.T) {
			tool, ok := buildTools[v.name]
			if !ok {
				t.Fatalf("no build tool recorded for %s", v.name)
			}
			name := tool.def
			if e := os.Getenv(tool.env); e != "" {
				name = e
			}
			needTool(t, name)
			out := t.TempDir()
			cmd := exec.Command("./build.sh", out, v.name)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build.sh: %v\n%s", err, msg)
			}
			rebuilt, err := os.ReadFile(filepath.Join(out, v.name+".o"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rebuilt, v.object) {
				t.Errorf("%s.o: rebuilt object differs from the embedded one", v.name)
			}
		})
	}
}

func TestObjectsNameNoPath(t *testing.T) {
	for _, v := range allBuilt() {
		for _, bad := range []string{"/home/", "/tmp/", "/work/", "/usr/", "/root/", "/opt/", ".S"} {
			if bytes.Contains(v.object, []byte(bad)) {
				t.Errorf("%s: object contains %q", v.name, bad)
			}
		}
		f, err := elf.NewFile(bytes.NewReader(v.object))
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		syms, _ := f.Symbols()
		for _, s := range syms {
			if elf.ST_TYPE(s.Info) == elf.STT_FILE {
				t.Errorf("%s: has a file symbol %q", v.name, s.Name)
			}
		}
		for _, s := range f.Sections {
			if strings.HasPrefix(s.Name, ".debug") || s.Name == ".comment" {
				t.Errorf("%s: has section %s", v.name, s.Name)
			}
		}
	}
}
