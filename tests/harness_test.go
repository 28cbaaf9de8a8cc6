package tests

// Cortex-M3 test harness: helpers that compile, link and run the bare-metal
// programs in cortexm/ under QEMU's mps2-an385 machine.
//
// The allocator contract is asserted by the program itself (cortexm/contract.c);
// these helpers only build it and report how it ended (exit status and
// semihosting output). A typical end-to-end test builds the program without
// the reference allocator, links it leaving the import undefined, lets
// elfpatch bind it, and runs it:
//
//	requireTools(t, toolQEMU, toolClang, toolLLD)
//	dir := t.TempDir()
//	objs := buildProgramObjects(t, clangCompiler, dir, programOptions{})
//	elf := linkProgram(t, linkShapeByName(t, "ld.lld"), objs, linkerScript(t, scriptMPS2),
//		filepath.Join(dir, "app.elf"),
//		"--gc-sections", "--unresolved-symbols=ignore-all", "--emit-relocs")
//	// ... run elfpatch on elf with a 65536-byte arena ...
//	requireRun(t, elf, "contract 65536", exitPass, "PASS contract")
//	requireRun(t, elf, "fill 65536", exitHardFault, "filled", "HARDFAULT")

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tool names looked up in PATH.
const (
	toolGCC     = "arm-none-eabi-gcc"
	toolClang   = "clang"
	toolLD      = "arm-none-eabi-ld"
	toolLLD     = "ld.lld"
	toolQEMU    = "qemu-system-arm"
	toolObjdump = "llvm-objdump"
	toolReadelf = "llvm-readelf"
)

// Linker scripts in cortexm/.
const (
	scriptMPS2    = "mps2.ld"     // code in FLASH at 0, data in RAM at 0x20000000
	scriptMPS2Far = "mps2-far.ld" // code at 0x20200000, vectors still at 0
)

// The allocator import, in both ELF spellings.
const (
	importSnake = "__cabi_arena_realloc"
	importKebab = "cabi-arena-realloc"
)

// qemuTimeout is how long runQEMU lets one program run before killing QEMU.
const qemuTimeout = 30 * time.Second

// sharedDir is a scratch directory for builds shared by several tests of
// this package (for example objects built once per compiler behind a
// sync.Once); TestMain removes it when the test binary ends. Per-test
// files belong in t.TempDir().
var sharedDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "elfpatch-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sharedDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lookPath is exec.LookPath; requireTools' own test replaces it.
var lookPath = exec.LookPath

// requireTools skips the test unless every named tool is in PATH. When the
// environment variable CI is "true" a missing tool fails the test instead,
// with a message naming it, so CI cannot pass by skipping.
func requireTools(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, name := range names {
		if _, err := lookPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("required tool(s) not found in PATH: %s", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
		return
	}
	t.Skip(msg)
}

// compiler is a C/assembler compiler for the Cortex-M3.
type compiler struct {
	Name  string   // short name for subtests and file names: "gcc", "clang"
	Tool  string   // executable
	Flags []string // target selection, passed first
}

var (
	gccCompiler   = compiler{Name: "gcc", Tool: toolGCC, Flags: []string{"-mcpu=cortex-m3", "-mthumb", "-Wa,--noexecstack"}}
	clangCompiler = compiler{Name: "clang", Tool: toolClang, Flags: []string{"--target=thumbv7m-none-eabi", "-mcpu=cortex-m3", "-mthumb", "-Wa,--noexecstack"}}
	compilers     = []compiler{gccCompiler, clangCompiler}
)

// harnessCFlags are used for every harness source. The sources compile
// warning-free with both compilers; -Werror keeps it that way.
var harnessCFlags = []string{
	"-Wall", "-Wextra", "-Werror", "-O2", "-ffreestanding", "-nostdlib",
	"-ffunction-sections", "-fdata-sections",
}

// cortexmPath returns the absolute path of a file in cortexm/.
func cortexmPath(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("cortexm", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("harness source missing: %v", err)
	}
	return p
}

// linkerScript returns the absolute path of a linker script in cortexm/
// (scriptMPS2 or scriptMPS2Far).
func linkerScript(t testing.TB, name string) string {
	t.Helper()
	return cortexmPath(t, name)
}

// runTool runs a command and fails the test, showing the command line and
// its output, unless it succeeds. It returns the combined output.
func runTool(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s failed: %v\n%s", commandLine(name, args), err, out)
	}
	return string(out)
}

func commandLine(name string, args []string) string {
	q := make([]string, 0, len(args)+1)
	for _, a := range append([]string{name}, args...) {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		q = append(q, a)
	}
	return strings.Join(q, " ")
}

// compileObject compiles one C (.c) or assembler (.S) source with cc, the
// harness flags (-Werror included) and extra, writing the object to obj.
// src may be a name in cortexm/ or any path. It returns obj.
func compileObject(t testing.TB, cc compiler, src, obj string, extra ...string) string {
	t.Helper()
	if !filepath.IsAbs(src) && !strings.ContainsRune(src, filepath.Separator) {
		src = cortexmPath(t, src)
	}
	args := append([]string{}, cc.Flags...)
	args = append(args, harnessCFlags...)
	args = append(args, "-I", filepath.Dir(cortexmPath(t, "semihost.h")))
	args = append(args, extra...)
	args = append(args, "-c", src, "-o", obj)
	if out := runTool(t, cc.Tool, args...); strings.TrimSpace(out) != "" {
		t.Fatalf("%s printed diagnostics:\n%s", commandLine(cc.Tool, args), out)
	}
	return obj
}

// programOptions selects a variant of the contract program.
type programOptions struct {
	// ExhaustedHook defines __cabi_arena_exhausted() in the program
	// (-DCONTRACT_EXHAUSTED_HOOK): it prints "EXHAUSTED" and exits with 4.
	ExhaustedHook bool
	// RefArenaSize, if nonzero, also compiles the test-only reference
	// allocator cortexm/refalloc.c with that arena size. Zero leaves the
	// import undefined, for elfpatch to bind.
	RefArenaSize uint32
	// RefBug builds a deliberately broken reference allocator (see refalloc.c).
	RefBug int
	// CFlags are extra compiler flags for every source.
	CFlags []string
}

// buildProgramObjects compiles the contract program (startup.c, semihost.c,
// contract.c, rel32.S, and refalloc.c if opt.RefArenaSize != 0) with cc into
// dir and returns the objects in link order.
func buildProgramObjects(t testing.TB, cc compiler, dir string, opt programOptions) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var objs []string
	add := func(src, obj string, flags ...string) {
		flags = append(append([]string{}, opt.CFlags...), flags...)
		objs = append(objs, compileObject(t, cc, src, filepath.Join(dir, obj), flags...))
	}
	add("startup.c", "startup.o")
	add("semihost.c", "semihost.o")
	if opt.ExhaustedHook {
		add("contract.c", "contract-hook.o", "-DCONTRACT_EXHAUSTED_HOOK")
	} else {
		add("contract.c", "contract.o")
	}
	add("rel32.S", "rel32.o")
	if opt.RefArenaSize != 0 {
		add("refalloc.c", fmt.Sprintf("refalloc-%d-bug%d.o", opt.RefArenaSize, opt.RefBug),
			fmt.Sprintf("-DREF_ARENA_SIZE=%d", opt.RefArenaSize), fmt.Sprintf("-DREF_BUG=%d", opt.RefBug))
	}
	return objs
}

// linkShape is one way of linking a Cortex-M image: a linker run directly or
// through a compiler driver. All shapes take the same objects and script.
type linkShape struct {
	Name string // the command: "arm-none-eabi-ld", "ld.lld", "arm-none-eabi-gcc", "clang"
	Tool string // executable
	// Args returns the arguments (after Tool) that link objs with script into
	// out. linkerArgs are raw linker options ("--gc-sections",
	// "--defsym=x=1", "-Map=m.txt"); the driver shapes pass each one through
	// -Xlinker.
	Args func(objs []string, script, out string, linkerArgs []string) []string
}

func directLinkArgs(objs []string, script, out string, linkerArgs []string) []string {
	args := []string{"-T", script}
	args = append(args, objs...)
	args = append(args, linkerArgs...)
	return append(args, "-o", out)
}

func driverLinkArgs(prefix []string) func(objs []string, script, out string, linkerArgs []string) []string {
	return func(objs []string, script, out string, linkerArgs []string) []string {
		args := append([]string{}, prefix...)
		args = append(args, "-nostdlib", "-T", script)
		args = append(args, objs...)
		for _, a := range linkerArgs {
			args = append(args, "-Xlinker", a)
		}
		return append(args, "-o", out)
	}
}

// linkShapes are the four link command shapes:
//
//	arm-none-eabi-ld -T SCRIPT OBJS... LINKERARGS... -o OUT
//	ld.lld -T SCRIPT OBJS... LINKERARGS... -o OUT
//	arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -nostdlib -T SCRIPT OBJS... -Xlinker ARG... -o OUT
//	clang --target=thumbv7m-none-eabi -mcpu=cortex-m3 -fuse-ld=lld -nostdlib -T SCRIPT OBJS... -Xlinker ARG... -o OUT
var linkShapes = []linkShape{
	{Name: "arm-none-eabi-ld", Tool: toolLD, Args: directLinkArgs},
	{Name: "ld.lld", Tool: toolLLD, Args: directLinkArgs},
	{Name: "arm-none-eabi-gcc", Tool: toolGCC, Args: driverLinkArgs([]string{"-mcpu=cortex-m3", "-mthumb"})},
	{Name: "clang", Tool: toolClang, Args: driverLinkArgs([]string{"--target=thumbv7m-none-eabi", "-mcpu=cortex-m3", "-fuse-ld=lld"})},
}

// linkShapeByName returns the link shape with that Name.
func linkShapeByName(t testing.TB, name string) linkShape {
	t.Helper()
	for _, s := range linkShapes {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no link shape %q", name)
	return linkShape{}
}

// linkProgram links objs with script into out using shape, passing
// linkerArgs to the linker, and returns out. The linker must succeed; its
// warnings are logged.
func linkProgram(t testing.TB, shape linkShape, objs []string, script, out string, linkerArgs ...string) string {
	t.Helper()
	args := shape.Args(objs, script, out, linkerArgs)
	if msg := runTool(t, shape.Tool, args...); strings.TrimSpace(msg) != "" {
		t.Logf("%s:\n%s", commandLine(shape.Tool, args), msg)
	}
	return out
}

// qemuCommand returns the QEMU command line that runs elf with the
// semihosting command line args (an empty args passes no -append). QEMU is
// run in elf's directory with the bare file name, so the program's first
// command-line word (QEMU's kernel file name) is that name, never a path.
func qemuCommand(ctx context.Context, elf, args string) *exec.Cmd {
	qargs := []string{
		"-M", "mps2-an385", "-nographic", "-monitor", "none", "-serial", "none",
		"-semihosting-config", "enable=on,target=native",
		"-kernel", filepath.Base(elf),
	}
	if args != "" {
		qargs = append(qargs, "-append", args)
	}
	cmd := exec.CommandContext(ctx, toolQEMU, qargs...)
	cmd.Dir = filepath.Dir(elf)
	cmd.Stdin = nil
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runQEMU runs elf on qemu-system-arm -M mps2-an385 with semihosting, args
// as the command line after the kernel name, and returns QEMU's exit status
// (the program's semihosting exit code) and everything it printed (stdout
// and stderr). It kills QEMU and fails the test after qemuTimeout.
func runQEMU(t testing.TB, elf, args string) (exitCode int, output string) {
	t.Helper()
	return runQEMUTimeout(t, elf, args, qemuTimeout)
}

// runQEMUTimeout is runQEMU with an explicit timeout.
func runQEMUTimeout(t testing.TB, elf, args string, timeout time.Duration) (exitCode int, output string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := qemuCommand(ctx, elf, args)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	output = buf.String()
	if ctx.Err() != nil {
		t.Fatalf("%s: QEMU killed after %v running %q; output so far:\n%s", filepath.Base(elf), timeout, args, output)
		return -1, output
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, output
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return exitErr.ExitCode(), output
	default:
		t.Fatalf("%s: running QEMU with %q: %v\n%s", filepath.Base(elf), args, err, output)
		return -1, output
	}
}

// Exit statuses of the contract program.
const (
	exitPass      = 0 // the mode's checks passed
	exitFail      = 1 // a check failed ("FAIL ..." says which)
	exitHardFault = 3 // a fault handler ran ("HARDFAULT ...")
	exitExhausted = 4 // the program's __cabi_arena_exhausted ran ("EXHAUSTED")
)

// requireRun runs elf with args and fails the test unless QEMU exits with
// wantCode and the output contains every string of wantInOrder, in that
// order. It returns the output.
func requireRun(t testing.TB, elf, args string, wantCode int, wantInOrder ...string) string {
	t.Helper()
	code, out := runQEMU(t, elf, args)
	if code != wantCode {
		t.Fatalf("%s %q: exit status %d, want %d; output:\n%s", filepath.Base(elf), args, code, wantCode, out)
	}
	rest := out
	for _, w := range wantInOrder {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("%s %q: output lacks %q (in order %q); output:\n%s", filepath.Base(elf), args, w, wantInOrder, out)
		}
		rest = rest[i+len(w):]
	}
	return out
}

// relocationsAgainst lists the static relocations of obj, an object file
// or a linked ELF (llvm-readelf -r; link with --emit-relocs to keep them),
// and returns, for each symbol of interest, how many relocations of each
// type (e.g. "R_ARM_THM_CALL") refer to it.
func relocationsAgainst(t testing.TB, obj string, symbols ...string) map[string]map[string]int {
	t.Helper()
	res := map[string]map[string]int{}
	for _, s := range symbols {
		res[s] = map[string]int{}
	}
	for _, line := range strings.Split(runTool(t, toolReadelf, "-r", "-W", obj), "\n") {
		// OFFSET INFO TYPE SYMVALUE SYMNAME [+ ADDEND]
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[2], "R_ARM_") {
			continue
		}
		if m, ok := res[f[4]]; ok {
			m[f[2]]++
		}
	}
	return res
}
