package tests

// Test harness: helpers that compile, link and run the allocator contract
// program (common/contract.c with a platform layer) on every target elfpatch
// supports, under QEMU or natively.
//
// The allocator contract is asserted by the program itself; these helpers
// only build it and report how it ended (exit status and output). A target
// (targets_test.go: targetM3, targetM0, targetM33, targetR5, targetRV32IMAC,
// targetRV32IMA, targetAArch64, targetX86_64) says how: its compilers, link
// command shapes, linker scripts and how an image runs. A typical
// end-to-end test builds the program without an allocator, links it leaving
// the import undefined, lets elfpatch bind it, and runs it:
//
//	tg := targetRV32IMAC
//	requireTarget(t, tg) // skips, or fails under CI=true, if a tool is missing
//	cc := tg.compiler(t, "clang")
//	objs := sharedObjects(t, cc, programOptions{}) // compiled once per test binary
//	elf := linkProgram(t, tg.shape(t, "ld.lld"), objs, tg.script(t, "virt.ld"),
//		filepath.Join(t.TempDir(), "app.elf"),
//		"--gc-sections", "--unresolved-symbols=ignore-all", "--emit-relocs")
//	// ... run elfpatch on elf with a 16384-byte arena ...
//	tg.requireRun(t, elf, "contract 16384", exitPass, "PASS contract")
//	tg.requireRun(t, elf, "fill 16384", exitTrap, "filled", tg.Trap)
//
// tg.script(t, scriptDefault) is "": the linker's default script (r5,
// aarch64, x86_64). buildProgramObjects compiles into a directory of the
// test's own instead of sharing.
//
// The pointer-base program (synth's default ABI: the import takes and
// returns offsets from __linear_memory_base) is the same with
// programOptions{PointerBase: true}; it links with the same shapes and
// scripts, and elfpatch binds it with --pointer-base:
//
//	objs := sharedObjects(t, cc, programOptions{PointerBase: true}) // linmem.o first
//	elf := linkProgram(t, tg.shape(t, "ld.lld"), objs, tg.script(t, "virt.ld"), ...)
//	// ... elfpatch --pointer-base __linear_memory_base --arena-size 16K elf ...
//	tg.requireRun(t, elf, "contract 16384", exitPass, "linear memory base=", "PASS contract")
//
// __linear_memory_base (common/linmem.S) is the start of .data, which every
// script of the targets puts first in RAM, and its st_size is the target's
// LinearMemory: elfpatch needs no --pointer-limit.
//
// A user's allocator object for elfpatch --arena-object is built by
// userAllocatorObject (common/userarena.c: code only, for a linked image;
// common/galearena.c: with its own .bss, for a relocatable object); the
// self-test links them directly as programOptions.AllocatorObject.
//
// The Cortex-M3 helpers of the first harness remain: compilers, gccCompiler,
// clangCompiler, linkShapes, linkerScript, runQEMU and requireRun are the
// m3 target's.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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

	toolRISCVGCC    = "riscv64-unknown-elf-gcc"
	toolRISCVLD     = "riscv64-unknown-elf-ld"
	toolAArch64LD   = "aarch64-linux-gnu-ld"
	toolHostGCC     = "gcc"
	toolHostLD      = "ld"
	toolQEMURISCV32 = "qemu-system-riscv32"
	toolQEMUUserARM = "qemu-arm"     // Linux user mode
	toolQEMUUserA64 = "qemu-aarch64" // Linux user mode
)

// Linker scripts. Each names a file in its target's directory, except
// scriptDefault: the linker's built-in script (no -T).
const (
	scriptMPS2    = "mps2.ld"     // m3: code in FLASH at 0, data in RAM at 0x20000000
	scriptMPS2Far = "mps2-far.ld" // m3: code at 0x20200000, vectors still at 0
	scriptDefault = "default"     // no -T: the linker's default script
)

// The allocator import, in both ELF spellings.
const (
	importSnake = "__cabi_arena_realloc"
	importKebab = "cabi-arena-realloc"
)

// qemuTimeout is how long a run may take before the program is killed.
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
	seen := map[string]bool{}
	for _, name := range names {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
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

// compiler is a C/assembler compiler for one target.
type compiler struct {
	Name   string   // short name for subtests and file names: "gcc", "clang"
	Tool   string   // executable
	Flags  []string // target selection, passed first
	Target string   // the target's Name: whose platform layer the program uses
}

// harnessCFlags are used for every harness source. The sources compile
// warning-free with every compiler of every target; -Werror keeps it that
// way.
var harnessCFlags = []string{
	"-Wall", "-Wextra", "-Werror", "-O2", "-ffreestanding", "-nostdlib",
	"-ffunction-sections", "-fdata-sections",
}

// testsPath returns the absolute path of a file in tests/ (rel is relative
// to tests/, e.g. "common/contract.c") and fails the test if it is missing.
func testsPath(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("harness source missing: %v", err)
	}
	return p
}

// cortexmPath returns the absolute path of a file in cortexm/.
func cortexmPath(t testing.TB, name string) string {
	t.Helper()
	return testsPath(t, filepath.Join("cortexm", name))
}

// linkerScript returns the absolute path of a linker script of the m3
// target (scriptMPS2 or scriptMPS2Far).
func linkerScript(t testing.TB, name string) string {
	t.Helper()
	return targetM3.script(t, name)
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

// sourcePath resolves a source name for cc: a bare name is looked up in the
// platform directory of cc's target, then in common/; anything else is a
// path (relative to tests/ or absolute).
func sourcePath(t testing.TB, cc compiler, src string) string {
	t.Helper()
	if filepath.IsAbs(src) || strings.ContainsRune(src, filepath.Separator) {
		p, err := filepath.Abs(src)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, dir := range []string{targetOf(t, cc).Platform, "common"} {
		if _, err := os.Stat(filepath.Join(dir, src)); err == nil {
			return testsPath(t, filepath.Join(dir, src))
		}
	}
	t.Fatalf("harness source %s not found in %s/ or common/", src, targetOf(t, cc).Platform)
	return ""
}

// compileJob is one source to compile: src as sourcePath resolves it,
// the object to write, and extra compiler flags.
type compileJob struct {
	src, obj string
	extra    []string
}

// compileObjects compiles jobs with cc, concurrently, with the harness flags
// (-Werror included); a failing compile, or one that prints diagnostics,
// fails the test with its command line and output.
func compileObjects(t testing.TB, cc compiler, jobs ...compileJob) {
	t.Helper()
	tg := targetOf(t, cc)
	includes := []string{"-I", testsPath(t, tg.Platform), "-I", testsPath(t, "common")}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		args := append([]string{}, cc.Flags...)
		args = append(args, harnessCFlags...)
		args = append(args, includes...)
		args = append(args, j.extra...)
		args = append(args, "-c", sourcePath(t, cc, j.src), "-o", j.obj)
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command(cc.Tool, args...).CombinedOutput()
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("%s failed: %v\n%s", commandLine(cc.Tool, args), err, out)
			case strings.TrimSpace(string(out)) != "":
				errs[i] = fmt.Errorf("%s printed diagnostics:\n%s", commandLine(cc.Tool, args), out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// compileObject compiles one C (.c) or assembler (.S) source with cc, the
// harness flags (-Werror included) and extra, writing the object to obj.
// src may be a name in the target's platform directory or in common/, or
// any path. It returns obj.
func compileObject(t testing.TB, cc compiler, src, obj string, extra ...string) string {
	t.Helper()
	compileObjects(t, cc, compileJob{src, obj, extra})
	return obj
}

// programOptions selects a variant of the contract program.
type programOptions struct {
	// ExhaustedHook defines __cabi_arena_exhausted() in the program
	// (-DCONTRACT_EXHAUSTED_HOOK): it prints "EXHAUSTED" and exits with 4.
	ExhaustedHook bool
	// RefArenaSize, if nonzero, also compiles the test-only reference
	// allocator common/refalloc.c with that arena size. Zero leaves the
	// import undefined, for elfpatch to bind (or AllocatorObject).
	RefArenaSize uint32
	// RefBug builds a deliberately broken reference allocator (see refalloc.c).
	RefBug int
	// AllocatorObject, if set, is a relocatable object defining
	// __cabi_arena_realloc (for example arena_blob/thumb2.o) to link
	// instead of refalloc.c. It may refer to __elfpatch_state (one zeroed
	// 4-byte word in .bss), __elfpatch_arena_start, __elfpatch_arena_end
	// and a weak __cabi_arena_exhausted; the harness provides the storage
	// (common/arenastore.c: an ArenaSize-byte array in .bss and the state
	// word) and binds the kebab spelling to __cabi_arena_realloc with a
	// one-line linker script among the link inputs.
	AllocatorObject string
	// ArenaSize is the arena size for AllocatorObject.
	ArenaSize uint32
	// AllocatorHasStorage says AllocatorObject brings its own arena and
	// state (common/galearena.c: a static array and offset in .bss): the
	// harness adds no arenastore.c, and ArenaSize may be 0.
	AllocatorHasStorage bool
	// PointerBase builds the pointer-base program: the import takes and
	// returns offsets from __linear_memory_base, as with elfpatch
	// --pointer-base __linear_memory_base (contract.c with
	// -DCONTRACT_POINTER_BASE; refalloc.c, if linked, with
	// -DREF_POINTER_BASE). common/linmem.S, assembled with
	// -DLINMEM_SIZE=target.LinearMemory, defines __linear_memory_base with
	// that st_size and comes first among the link inputs; the targets'
	// linker scripts put its section first in .data. An AllocatorObject
	// must then speak offsets itself.
	PointerBase bool
	// CFlags are extra compiler flags for every source.
	CFlags []string
}

// contractVariant returns the object name and extra flags of contract.c
// for opt: contract.o, contract-hook.o, contract-based.o or
// contract-hook-based.o.
func contractVariant(opt programOptions) (obj string, flags []string) {
	name := "contract"
	if opt.ExhaustedHook {
		name += "-hook"
		flags = append(flags, "-DCONTRACT_EXHAUSTED_HOOK")
	}
	if opt.PointerBase {
		name += "-based"
		flags = append(flags, "-DCONTRACT_POINTER_BASE")
	}
	return name + ".o", flags
}

// refallocVariant returns the object name and extra flags of refalloc.c
// for opt (opt.RefArenaSize != 0).
func refallocVariant(opt programOptions) (obj string, flags []string) {
	name := fmt.Sprintf("refalloc-%d-bug%d", opt.RefArenaSize, opt.RefBug)
	flags = []string{fmt.Sprintf("-DREF_ARENA_SIZE=%d", opt.RefArenaSize), fmt.Sprintf("-DREF_BUG=%d", opt.RefBug)}
	if opt.PointerBase {
		name += "-based"
		flags = append(flags, "-DREF_POINTER_BASE")
	}
	return name + ".o", flags
}

// linmemFlags are the flags of common/linmem.S for cc's target.
func linmemFlags(t testing.TB, cc compiler) []string {
	t.Helper()
	tg := targetOf(t, cc)
	if tg.LinearMemory == 0 {
		t.Fatalf("target %s has no LinearMemory for a pointer-base build", tg.Name)
	}
	return []string{fmt.Sprintf("-DLINMEM_SIZE=%d", tg.LinearMemory)}
}

// buildProgramObjects compiles the contract program for cc's target
// (linmem.S first if opt.PointerBase; its platform layer; common/print.c,
// contract.c and rel32.S; refalloc.c if opt.RefArenaSize != 0; arenastore.c,
// unless opt.AllocatorHasStorage, and the allocator object if
// opt.AllocatorObject is set) with cc into dir and returns the link inputs
// in link order.
func buildProgramObjects(t testing.TB, cc compiler, dir string, opt programOptions) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var jobs []compileJob
	add := func(src, obj string, flags ...string) {
		jobs = append(jobs, compileJob{src, filepath.Join(dir, obj), append(append([]string{}, opt.CFlags...), flags...)})
	}
	if opt.PointerBase {
		add("common/linmem.S", "linmem.o", linmemFlags(t, cc)...)
	}
	for _, src := range targetOf(t, cc).platformSources() {
		add(src, objectName(src))
	}
	add("common/print.c", "print.o")
	contractObj, contractFlags := contractVariant(opt)
	add("common/contract.c", contractObj, contractFlags...)
	add("common/rel32.S", "rel32.o")
	if opt.RefArenaSize != 0 {
		refObj, refFlags := refallocVariant(opt)
		add("common/refalloc.c", refObj, refFlags...)
	}
	if opt.AllocatorObject != "" && !opt.AllocatorHasStorage {
		if opt.ArenaSize == 0 {
			t.Fatal("programOptions.AllocatorObject needs ArenaSize")
		}
		add("common/arenastore.c", fmt.Sprintf("arenastore-%d.o", opt.ArenaSize), fmt.Sprintf("-DARENA_SIZE=%d", opt.ArenaSize))
	}
	compileObjects(t, cc, jobs...)
	objs := make([]string, len(jobs))
	for i, j := range jobs {
		objs[i] = j.obj
	}
	if opt.AllocatorObject != "" {
		objs = append(objs, allocatorInputs(t, dir, opt.AllocatorObject)...)
	}
	return objs
}

// allocatorInputs are the link inputs of an allocator object: the object
// and a linker script (written into dir) that binds the kebab spelling to
// the object's __cabi_arena_realloc. GNU ld and ld.lld both read a linker
// script given as an input file; the symbol keeps the definition's type
// and Thumb bit.
func allocatorInputs(t testing.TB, dir, object string) []string {
	t.Helper()
	obj, err := filepath.Abs(object)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(obj); err != nil {
		t.Fatalf("allocator object: %v", err)
	}
	alias := filepath.Join(dir, "kebab-alias.ld")
	text := "/* The kebab spelling of the import, bound to the allocator object's definition. */\n\"" +
		importKebab + "\" = " + importSnake + ";\n"
	if err := os.WriteFile(alias, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{obj, alias}
}

// userAllocatorFlags are the flags a user allocator (common/userarena.c,
// common/galearena.c) is compiled with for --arena-object, on top of the
// harness's own (-O2 -ffunction-sections -ffreestanding ...): no common
// symbols and no unwind tables, so that the object holds its function's
// code and nothing else. clang on Arm also needs -fdwarf-exceptions: under
// the EHABI exception model, clang 14 gives every function an 8-byte
// .ARM.exidx entry (EXIDX_CANTUNWIND, an R_ARM_PREL31) whatever the unwind
// table flags say, and that is an allocated section besides the code. On
// RISC-V -mno-relax: code placed after the link is never relaxed, so it
// is assembled final (gcc's objects then still carry R_RISCV_BRANCH,
// R_RISCV_JAL and R_RISCV_RVC_* relocations against local labels of the
// code section; clang resolves those itself).
func userAllocatorFlags(t testing.TB, cc compiler) []string {
	t.Helper()
	flags := []string{"-fno-common", "-fno-unwind-tables", "-fno-asynchronous-unwind-tables"}
	switch tg := targetOf(t, cc); {
	case tg.Family == "arm" && cc.Tool == toolClang:
		flags = append(flags, "-fdwarf-exceptions")
	case tg.Family == "riscv":
		flags = append(flags, "-mno-relax")
	}
	return flags
}

// userAllocatorObject compiles a user allocator source (relative to
// tests/, e.g. "common/userarena.c") for cc's target with
// userAllocatorFlags and extra (e.g. "-DGALE_ARENA_SIZE=8192"), once per
// test binary, and returns the object: an AllocatorObject for
// programOptions, or an --arena-object for elfpatch.
func userAllocatorObject(t testing.TB, cc compiler, src string, extra ...string) string {
	t.Helper()
	flags := append(userAllocatorFlags(t, cc), extra...)
	key := fmt.Sprintf("%x", sha256.Sum256([]byte(src+"\x00"+strings.Join(flags, "\x00"))))[:12]
	dir := filepath.Join(sharedDir, "user-allocators", cc.Target, cc.Name, key)
	return cachedBuild(t, dir, func(dir string) []string {
		return []string{compileObject(t, cc, src, filepath.Join(dir, objectName(src)), flags...)}
	})[0]
}

// sharedObjects is buildProgramObjects for the whole test binary: every
// object is compiled once (per target, compiler, flags and variant) into
// sharedDir and reused by every test that asks for it. The hook and
// pointer-base variants share all objects but contract.o with the plain
// one (the pointer-base one adds linmem.o, first), the refalloc.c and
// arenastore.c variants all objects but their own. Callers must not change
// the files.
func sharedObjects(t testing.TB, cc compiler, opt programOptions) []string {
	t.Helper()
	flags := strings.Join(opt.CFlags, " ")
	base := filepath.Join(sharedDir, "objs", cc.Target, cc.Name, fmt.Sprintf("%x", sha256.Sum256([]byte(flags)))[:12])
	objs := cachedBuild(t, base+"/core", func(dir string) []string {
		return buildProgramObjects(t, cc, dir, programOptions{CFlags: opt.CFlags})
	})
	one := func(key, src, obj string, extra ...string) string {
		return cachedBuild(t, base+"/"+key, func(dir string) []string {
			return []string{compileObject(t, cc, src, filepath.Join(dir, obj), append(append([]string{}, opt.CFlags...), extra...)...)}
		})[0]
	}
	if contractObj, contractFlags := contractVariant(opt); contractObj != "contract.o" {
		variant := one(strings.TrimSuffix(contractObj, ".o"), "common/contract.c", contractObj, contractFlags...)
		for i, o := range objs {
			if filepath.Base(o) == "contract.o" {
				objs[i] = variant
			}
		}
	}
	if opt.PointerBase {
		objs = append([]string{one("linmem", "common/linmem.S", "linmem.o", linmemFlags(t, cc)...)}, objs...)
	}
	if opt.RefArenaSize != 0 {
		refObj, refFlags := refallocVariant(opt)
		objs = append(objs, one(strings.TrimSuffix(refObj, ".o"), "common/refalloc.c", refObj, refFlags...))
	}
	if opt.AllocatorObject != "" && opt.AllocatorHasStorage {
		objs = append(objs, cachedBuild(t, base+"/alloc-"+fmt.Sprintf("%x", sha256.Sum256([]byte(opt.AllocatorObject)))[:12],
			func(dir string) []string { return allocatorInputs(t, dir, opt.AllocatorObject) })...)
	} else if opt.AllocatorObject != "" {
		if opt.ArenaSize == 0 {
			t.Fatal("programOptions.AllocatorObject needs ArenaSize")
		}
		objs = append(objs, one(fmt.Sprintf("arena-%d", opt.ArenaSize), "common/arenastore.c",
			fmt.Sprintf("arenastore-%d.o", opt.ArenaSize), fmt.Sprintf("-DARENA_SIZE=%d", opt.ArenaSize)))
		objs = append(objs, cachedBuild(t, base+"/alloc-"+fmt.Sprintf("%x", sha256.Sum256([]byte(opt.AllocatorObject)))[:12],
			func(dir string) []string { return allocatorInputs(t, dir, opt.AllocatorObject) })...)
	}
	return objs
}

var buildCache struct {
	sync.Mutex
	m map[string]*cachedObjs
}

type cachedObjs struct {
	once sync.Once
	ok   bool
	objs []string
}

// cachedBuild runs build(dir) once per test binary for dir and returns
// (a copy of) what it returned; a failed build fails every test that
// needs it.
func cachedBuild(t testing.TB, dir string, build func(dir string) []string) []string {
	t.Helper()
	buildCache.Lock()
	if buildCache.m == nil {
		buildCache.m = map[string]*cachedObjs{}
	}
	e := buildCache.m[dir]
	if e == nil {
		e = &cachedObjs{}
		buildCache.m[dir] = e
	}
	buildCache.Unlock()
	e.once.Do(func() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		e.objs = build(dir)
		e.ok = true
	})
	if !e.ok {
		t.Fatalf("building %s failed (see the log of the test that built it)", dir)
	}
	return append([]string(nil), e.objs...)
}

// objectName is the object file name for a source: "linux/start.S" -> "start.o".
func objectName(src string) string {
	base := filepath.Base(src)
	return strings.TrimSuffix(base, filepath.Ext(base)) + ".o"
}

// linkShape is one way of linking an image: a linker run directly or
// through a compiler driver. All shapes of a target take the same objects
// and scripts.
type linkShape struct {
	Name string // the command: "arm-none-eabi-ld", "ld.lld", "arm-none-eabi-gcc", "clang"
	Tool string // executable
	// Args returns the arguments (after Tool) that link objs with script into
	// out; script "" links with the linker's default script (no -T).
	// linkerArgs are raw linker options ("--gc-sections", "--defsym=x=1",
	// "-Map=m.txt"); the driver shapes pass each one through -Xlinker.
	Args func(objs []string, script, out string, linkerArgs []string) []string
}

// directLinkArgs are the arguments of a linker run directly:
// [-T SCRIPT] OBJS... LINKERARGS... -o OUT.
func directLinkArgs(objs []string, script, out string, linkerArgs []string) []string {
	var args []string
	if script != "" {
		args = append(args, "-T", script)
	}
	args = append(args, objs...)
	args = append(args, linkerArgs...)
	return append(args, "-o", out)
}

// directLinkArgsWith is directLinkArgs with options first (e.g. "-m", "elf32lriscv").
func directLinkArgsWith(prefix ...string) func(objs []string, script, out string, linkerArgs []string) []string {
	return func(objs []string, script, out string, linkerArgs []string) []string {
		return append(append([]string{}, prefix...), directLinkArgs(objs, script, out, linkerArgs)...)
	}
}

func driverLinkArgs(prefix []string) func(objs []string, script, out string, linkerArgs []string) []string {
	return func(objs []string, script, out string, linkerArgs []string) []string {
		args := append([]string{}, prefix...)
		args = append(args, "-nostdlib")
		if script != "" {
			args = append(args, "-T", script)
		}
		args = append(args, objs...)
		for _, a := range linkerArgs {
			args = append(args, "-Xlinker", a)
		}
		return append(args, "-o", out)
	}
}

// linkShapeByName returns the m3 link shape with that Name.
func linkShapeByName(t testing.TB, name string) linkShape {
	t.Helper()
	return targetM3.shape(t, name)
}

// linkProgram links objs with script into out using shape, passing
// linkerArgs to the linker, and returns out. script "" is the linker's
// default script. The linker must succeed; its warnings are logged.
func linkProgram(t testing.TB, shape linkShape, objs []string, script, out string, linkerArgs ...string) string {
	t.Helper()
	args := shape.Args(objs, script, out, linkerArgs)
	if msg := runTool(t, shape.Tool, args...); strings.TrimSpace(msg) != "" {
		t.Logf("%s:\n%s", commandLine(shape.Tool, args), msg)
	}
	return out
}

// runKind is how a target's images run.
type runKind int

const (
	runSemihosting runKind = iota // QEMU system emulation, I/O and exit through semihosting
	runUserMode                   // QEMU Linux user mode: a static Linux executable
	runNative                     // a static Linux executable run on the host
)

// runSpec describes how a target's images run.
type runSpec struct {
	Kind runKind
	Tool string   // the emulator ("" for runNative)
	Args []string // emulator options before the image: "-M", "mps2-an385" or "-cpu", "cortex-r5"
	// Host is the GOOS/GOARCH a runNative image needs ("linux/amd64").
	Host string
}

// command returns the command that runs elf with the command-line words
// args. It runs in elf's directory with the bare file name, so the
// program's first command-line word (QEMU's kernel file name, or argv[0])
// is that name, never a path. Semihosting passes args verbatim as QEMU's
// -append (an empty args passes none); the Linux shapes pass its words.
func (r runSpec) command(ctx context.Context, elf, args string) *exec.Cmd {
	base := filepath.Base(elf)
	var cmd *exec.Cmd
	switch r.Kind {
	case runSemihosting:
		qargs := append([]string{}, r.Args...)
		qargs = append(qargs, "-nographic", "-monitor", "none", "-serial", "none",
			"-semihosting-config", "enable=on,target=native", "-kernel", base)
		if args != "" {
			qargs = append(qargs, "-append", args)
		}
		cmd = exec.CommandContext(ctx, r.Tool, qargs...)
	case runUserMode:
		qargs := append(append(append([]string{}, r.Args...), base), strings.Fields(args)...)
		cmd = exec.CommandContext(ctx, r.Tool, qargs...)
	case runNative:
		cmd = exec.CommandContext(ctx, "./"+base, strings.Fields(args)...)
		cmd.Args[0] = base
	}
	cmd.Dir = filepath.Dir(elf)
	cmd.Stdin = nil
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// what names the runner in messages.
func (r runSpec) what() string {
	if r.Kind == runNative {
		return "the program"
	}
	return "QEMU"
}

// Exit statuses of the contract program.
const (
	exitPass        = 0 // the mode's checks passed
	exitFail        = 1 // a check failed ("FAIL ..." says which)
	exitUnsupported = 2 // the mode needs what the platform lacks ("UNSUPPORTED ...")
	exitTrap        = 3 // a fault or trap handler ran ("HARDFAULT ..." or "TRAP ...")
	exitHardFault   = exitTrap
	exitExhausted   = 4 // the program's __cabi_arena_exhausted ran ("EXHAUSTED")
)

// run runs elf on tg with args as its command line and returns the exit
// status and everything it printed (stdout and stderr). It kills the
// program and fails the test after qemuTimeout.
func (tg *target) run(t testing.TB, elf, args string) (exitCode int, output string) {
	t.Helper()
	return tg.runTimeout(t, elf, args, qemuTimeout)
}

// runTimeout is run with an explicit timeout.
func (tg *target) runTimeout(t testing.TB, elf, args string, timeout time.Duration) (exitCode int, output string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := tg.Run.command(ctx, elf, args)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	output = buf.String()
	if ctx.Err() != nil {
		t.Fatalf("%s: %s killed after %v running %q; output so far:\n%s", filepath.Base(elf), tg.Run.what(), timeout, args, output)
		return -1, output
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, output
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return exitErr.ExitCode(), output
	default:
		t.Fatalf("%s: running %s with %q: %v\n%s", filepath.Base(elf), tg.Run.what(), args, err, output)
		return -1, output
	}
}

// requireRun runs elf on tg with args and fails the test unless it exits
// with wantCode and its output contains every string of wantInOrder, in
// that order. It returns the output.
func (tg *target) requireRun(t testing.TB, elf, args string, wantCode int, wantInOrder ...string) string {
	t.Helper()
	code, out := tg.run(t, elf, args)
	if code != wantCode {
		t.Fatalf("%s on %s %q: exit status %d, want %d; output:\n%s", filepath.Base(elf), tg.Name, args, code, wantCode, out)
	}
	rest := out
	for _, w := range wantInOrder {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("%s on %s %q: output lacks %q (in order %q); output:\n%s", filepath.Base(elf), tg.Name, args, w, wantInOrder, out)
		}
		rest = rest[i+len(w):]
	}
	return out
}

// runQEMU runs an m3 image on qemu-system-arm -M mps2-an385 with
// semihosting, args as the command line after the kernel name, and returns
// QEMU's exit status (the program's semihosting exit code) and everything
// it printed. It kills QEMU and fails the test after qemuTimeout.
func runQEMU(t testing.TB, elf, args string) (exitCode int, output string) {
	t.Helper()
	return targetM3.runTimeout(t, elf, args, qemuTimeout)
}

// runQEMUTimeout is runQEMU with an explicit timeout.
func runQEMUTimeout(t testing.TB, elf, args string, timeout time.Duration) (exitCode int, output string) {
	t.Helper()
	return targetM3.runTimeout(t, elf, args, timeout)
}

// requireRun is targetM3.requireRun.
func requireRun(t testing.TB, elf, args string, wantCode int, wantInOrder ...string) string {
	t.Helper()
	return targetM3.requireRun(t, elf, args, wantCode, wantInOrder...)
}

// relocationsAgainst lists the static relocations of obj, an object file
// or a linked ELF of any target (llvm-readelf -r; link with --emit-relocs
// to keep them), and returns, for each symbol of interest, how many
// relocations of each type (e.g. "R_ARM_THM_CALL") refer to it.
func relocationsAgainst(t testing.TB, obj string, symbols ...string) map[string]map[string]int {
	t.Helper()
	res := map[string]map[string]int{}
	for _, s := range symbols {
		res[s] = map[string]int{}
	}
	for _, line := range strings.Split(runTool(t, toolReadelf, "-r", "-W", obj), "\n") {
		// OFFSET INFO TYPE SYMVALUE SYMNAME [+ ADDEND]
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[2], "R_") {
			continue
		}
		if m, ok := res[f[4]]; ok {
			m[f[2]]++
		}
	}
	return res
}

// hostIs reports whether the tests run on GOOS/GOARCH host ("linux/amd64").
func hostIs(host string) bool {
	return host == runtime.GOOS+"/"+runtime.GOARCH
}
