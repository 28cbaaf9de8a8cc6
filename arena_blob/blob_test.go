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

	"github.com/pulseengine/elfpatch/internal/testtool"
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
	lines  string // the embedded .lines file
	source string
	rows   []Line
}

// allBuilt lists every embedded object, allocators first, then shims.
func allBuilt() []built {
	var bs []built
	for _, v := range Variants() {
		bs = append(bs, built{v.Name, v.Object, embeddedLines(v.Name), v.Source, v.Lines})
	}
	for _, s := range Shims() {
		bs = append(bs, built{s.Name, s.Object, embeddedLines(s.Name), s.Source, s.Lines})
	}
	return bs
}

// needTool finds a tool a test runs (testtool: a skip, or under CI=true
// a failure, when it is missing).
func needTool(t *testing.T, name string) string {
	t.Helper()
	return testtool.Require(t, name)[0]
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
			lines, err := os.ReadFile(filepath.Join(out, v.name+".lines"))
			if err != nil {
				t.Fatal(err)
			}
			if string(lines) != v.lines {
				t.Errorf("%s.lines: rebuilt line rows differ from the embedded ones:\n%s", v.name, lines)
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

// embeddedLines is the .lines file as embedded.
func embeddedLines(name string) string {
	return map[string]string{
		"thumb2": thumb2Lines, "thumb1": thumb1Lines, "rv32c": rv32cLines, "rv32": rv32Lines,
		"aarch64": aarch64Lines, "x86_64": x86_64Lines, "shim_thumb": shimThumbLines,
		"shim_rv32": shimRV32Lines, "shim_aarch64": shimAArch64Lines, "shim_x86_64": shimX86_64Lines,
	}[name]
}

// Every object's line rows start at its first byte, climb through its
// code, and name lines of its source that hold an instruction.
func TestLineRowsCoverTheCodeAndNameInstructionLines(t *testing.T) {
	for _, v := range allBuilt() {
		f, err := elf.NewFile(bytes.NewReader(v.object))
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		code := f.Section(".text.__cabi_arena_realloc")
		if code == nil {
			t.Fatalf("%s: no code section", v.name)
		}
		src, err := os.ReadFile(v.source)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Split(string(src), "\n")
		if len(v.rows) == 0 || v.rows[0].Offset != 0 {
			t.Errorf("%s: rows %v do not start at offset 0", v.name, v.rows)
			continue
		}
		for i, r := range v.rows {
			if r.Offset >= code.Size || (i > 0 && r.Offset <= v.rows[i-1].Offset) {
				t.Errorf("%s: row %d at offset %#x: not inside the %d bytes of code, after the row before", v.name, i, r.Offset, code.Size)
			}
			if r.Line < 1 || r.Line > len(text) {
				t.Errorf("%s: row %d names line %d of %d", v.name, i, r.Line, len(text))
				continue
			}
			l := strings.TrimSpace(text[r.Line-1])
			if l == "" || strings.HasPrefix(l, "//") || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ".") || strings.HasSuffix(l, ":") {
				t.Errorf("%s: row %d names %s:%d, which holds no instruction: %q", v.name, i, v.source, r.Line, l)
			}
		}
	}
}
