// Command bench measures elfpatch's allocators by running them: for each
// variant it links the embedded object (arena_blob) with a small driver
// (driver/harness.c), runs it under QEMU with one guest instruction per
// translation block and the execution trace on (-singlestep -d
// exec,nochain), and counts the instructions executed inside the
// allocator during the calls the driver marks. It prints a markdown table:
//
//   - code bytes: the allocator's code section (literal pool included);
//   - fast path: instructions of a fresh aligned allocation, (0, 0, 8, 16)
//     on a non-empty arena, from the entry to the return inclusive;
//   - aligned / unaligned copy: instructions per copied byte when a block
//     that is not the most recent one is moved, 4-aligned or at an odd
//     address: the slope between moves of 64 and 1024 bytes.
//
// With -gale FILE (or GALE_CABI_ARENA=FILE) it also compiles gale's
// reference TCB arena (crates/gale-app-demo/tcb/cabi_arena.c in
// github.com/pulseengine/gale) at -Os with each target's compiler and
// measures it the same way, side by side. Without it, those rows are left
// out and a note says how to add them.
//
//	go run ./bench
//	go run ./bench -gale ~/src/gale/crates/gale-app-demo/tcb/cabi_arena.c
//	go run ./bench -objects DIR   # measure DIR/<variant>.o instead
//
// Tools: arm-none-eabi-gcc and qemu-system-arm (thumb2 on mps2-an385,
// thumb1 on microbit), riscv64-unknown-elf-gcc and qemu-riscv32,
// clang + ld.lld and qemu-aarch64, gcc and qemu-x86_64. A target whose
// tools are missing is reported and skipped.
package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
)

//go:embed driver/harness.c
var harnessC []byte

//go:embed driver/mprofile.ld
var mprofileLD []byte

// arenaSize is the arena the driver gives every allocator (bytes): the
// M-profile boards have 16 KiB of RAM in the linker script.
const arenaSize = 8192

// The measured calls, in the driver's order (driver/harness.c).
const (
	mFast = iota
	mAligned64
	mAligned1024
	mUnaligned64
	mUnaligned1024
	nMeasures
)

// target is how one allocator variant is built and run.
type target struct {
	variant string
	// cc compiles and links C for the target (the driver and gale's file).
	cc []string
	// ldflags are added when linking.
	ldflags []string
	// mprofile: link with mprofile.ld and run on qemu-system-arm.
	mprofile bool
	// qemu runs an ELF: the command before the trace options and the ELF.
	qemu []string
}

var targets = []target{
	{
		variant:  "thumb2",
		cc:       []string{"arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb"},
		mprofile: true,
		qemu:     []string{"qemu-system-arm", "-M", "mps2-an385"},
	},
	{
		variant:  "thumb1",
		cc:       []string{"arm-none-eabi-gcc", "-mcpu=cortex-m0", "-mthumb"},
		mprofile: true,
		qemu:     []string{"qemu-system-arm", "-M", "microbit"},
	},
	{
		variant: "rv32c",
		cc:      []string{"riscv64-unknown-elf-gcc", "-march=rv32imac", "-mabi=ilp32"},
		qemu:    []string{"qemu-riscv32"},
	},
	{
		variant: "rv32",
		cc:      []string{"riscv64-unknown-elf-gcc", "-march=rv32im", "-mabi=ilp32"},
		qemu:    []string{"qemu-riscv32"},
	},
	{
		variant: "aarch64",
		cc:      []string{"clang", "--target=aarch64-linux-gnu", "-fuse-ld=lld"},
		qemu:    []string{"qemu-aarch64"},
	},
	{
		variant: "x86_64",
		cc:      []string{"gcc", "-fno-pie"},
		ldflags: []string{"-no-pie"},
		qemu:    []string{"qemu-x86_64"},
	},
}

// cflags are common to every C compilation.
var cflags = []string{"-Os", "-ffreestanding", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables", "-Wall"}

// result is one row of the table.
type result struct {
	variant   string
	allocator string
	size      int
	counts    [nMeasures]int
	err       error
}

func main() {
	gale := flag.String("gale", os.Getenv("GALE_CABI_ARENA"), "gale's cabi_arena.c, measured side by side (default $GALE_CABI_ARENA)")
	objects := flag.String("objects", "", "measure DIR/<variant>.o instead of the embedded objects")
	only := flag.String("variants", "", "comma-separated variants to measure (default all)")
	keep := flag.Bool("keep", false, "keep the work directory and print its path")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench [-gale FILE] [-objects DIR] [-variants LIST] [-keep]")
		os.Exit(2)
	}
	work, err := os.MkdirTemp("", "elfpatch-bench-")
	if err != nil {
		fatal(err)
	}
	if *keep {
		fmt.Fprintf(os.Stderr, "bench: work directory %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	if err := os.WriteFile(filepath.Join(work, "harness.c"), harnessC, 0o644); err != nil {
		fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "mprofile.ld"), mprofileLD, 0o644); err != nil {
		fatal(err)
	}
	if *gale != "" {
		if _, err := os.Stat(*gale); err != nil {
			fatal(fmt.Errorf("-gale: %w", err))
		}
	}
	want := map[string]bool{}
	for _, v := range strings.Split(*only, ",") {
		if v != "" {
			want[v] = true
		}
	}

	var rows []result
	failed := false
	for _, tg := range targets {
		if len(want) > 0 && !want[tg.variant] {
			continue
		}
		v, ok := arenablob.ByName(tg.variant)
		if !ok {
			fatal(fmt.Errorf("no variant %s in arena_blob", tg.variant))
		}
		obj := v.Object
		label := "elfpatch"
		if *objects != "" {
			path := filepath.Join(*objects, tg.variant+".o")
			if obj, err = os.ReadFile(path); err != nil {
				fatal(err)
			}
			label = "elfpatch (" + path + ")"
		}
		dir := filepath.Join(work, tg.variant)
		r := measureObject(tg, dir, obj)
		r.allocator = label
		rows = append(rows, r)
		if *gale != "" {
			g := measureGale(tg, filepath.Join(work, tg.variant+"-gale"), *gale)
			g.allocator = "gale -Os (" + compilerName(tg) + ")"
			rows = append(rows, g)
		}
	}

	fmt.Println("| variant | allocator | code bytes | fast path (insns) | aligned copy (insns/byte) | unaligned copy (insns/byte) |")
	fmt.Println("|---|---|---:|---:|---:|---:|")
	for _, r := range rows {
		if r.err != nil {
			failed = true
			fmt.Printf("| %s | %s | - | - | - | - |\n", r.variant, r.allocator)
			continue
		}
		fmt.Printf("| %s | %s | %d | %d | %s | %s |\n", r.variant, r.allocator, r.size, r.counts[mFast],
			slope(r.counts[mAligned64], r.counts[mAligned1024]), slope(r.counts[mUnaligned64], r.counts[mUnaligned1024]))
	}
	fmt.Println()
	fmt.Println("Counted under QEMU (-singlestep -d exec,nochain): every instruction executed inside the allocator's")
	fmt.Println("code during the measured call. Copy columns: (insns for 1024 bytes - insns for 64 bytes) / 960.")
	if *gale == "" {
		fmt.Println("gale's reference arena is not measured: pass -gale PATH/TO/gale/crates/gale-app-demo/tcb/cabi_arena.c")
		fmt.Println("(or set GALE_CABI_ARENA) to add it, compiled at -Os with each target's compiler.")
	}
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s, %s: %v\n", r.variant, r.allocator, r.err)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// slope is the instructions per byte between copies of 64 and 1024 bytes.
func slope(c64, c1024 int) string {
	return strconv.FormatFloat(float64(c1024-c64)/960, 'f', 2, 64)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// compilerName names the compiler and its version, e.g. "gcc 12.2.0".
func compilerName(tg target) string {
	out, err := exec.Command(tg.cc[0], "--version").Output()
	if err != nil {
		return tg.cc[0]
	}
	line := strings.SplitN(string(out), "\n", 2)[0]
	f := strings.Fields(line)
	for i := len(f) - 1; i >= 0; i-- {
		if len(f[i]) > 0 && f[i][0] >= '0' && f[i][0] <= '9' && strings.Contains(f[i], ".") {
			return tg.cc[0] + " " + f[i]
		}
	}
	return tg.cc[0]
}

// measureObject links an elfpatch allocator object with the driver and
// measures it.
func measureObject(tg target, dir string, obj []byte) result {
	r := result{variant: tg.variant}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.err = err
		return r
	}
	size, err := codeSize(obj)
	if err != nil {
		r.err = err
		return r
	}
	r.size = size
	objPath := filepath.Join(dir, tg.variant+".o")
	if err := os.WriteFile(objPath, obj, 0o644); err != nil {
		r.err = err
		return r
	}
	exe := filepath.Join(dir, "bench.elf")
	args := []string{
		filepath.Join(dir, "..", "harness.c"), objPath,
		fmt.Sprintf("-DBENCH_ARENA=%du", arenaSize),
		"-Wl,--defsym=__elfpatch_arena_start=bench_arena",
		fmt.Sprintf("-Wl,--defsym=__elfpatch_arena_end=bench_arena+%d", arenaSize),
	}
	if err := link(tg, exe, args); err != nil {
		r.err = err
		return r
	}
	r.counts, r.err = run(tg, dir, exe, 0)
	return r
}

// measureGale compiles gale's arena with the target's compiler at -Os and
// measures it with the same driver.
func measureGale(tg target, dir, src string) result {
	r := result{variant: tg.variant}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.err = err
		return r
	}
	exe := filepath.Join(dir, "bench.elf")
	args := []string{
		filepath.Join(dir, "..", "harness.c"), src,
		"-DOWN_ARENA", fmt.Sprintf("-DGALE_CABI_ARENA_SIZE=%du", arenaSize),
	}
	if err := link(tg, exe, args); err != nil {
		r.err = err
		return r
	}
	f, err := elf.Open(exe)
	if err != nil {
		r.err = err
		return r
	}
	defer f.Close()
	fn, err := symbol(f, "__cabi_arena_realloc")
	if err != nil {
		r.err = err
		return r
	}
	r.size = int(fn.Size)
	r.counts, r.err = run(tg, dir, exe, fn.Size)
	return r
}

// link compiles and links the driver with args into exe.
func link(tg target, exe string, args []string) error {
	if _, err := exec.LookPath(tg.cc[0]); err != nil {
		return fmt.Errorf("%s is not installed", tg.cc[0])
	}
	cmd := append([]string{}, tg.cc...)
	cmd = append(cmd, cflags...)
	cmd = append(cmd, "-nostdlib", "-static", "-o", exe)
	cmd = append(cmd, args...)
	cmd = append(cmd, tg.ldflags...)
	if tg.mprofile {
		cmd = append(cmd, "-T", filepath.Join(filepath.Dir(exe), "..", "mprofile.ld"))
	}
	cmd = append(cmd, "-Wl,--build-id=none")
	out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
	}
	return nil
}

// codeSize is the size of an allocator object's code section.
func codeSize(obj []byte) (int, error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return 0, err
	}
	s := f.Section(".text.__cabi_arena_realloc")
	if s == nil {
		return 0, errors.New("no .text.__cabi_arena_realloc")
	}
	return int(s.Size), nil
}

func symbol(f *elf.File, name string) (elf.Symbol, error) {
	syms, err := f.Symbols()
	if err != nil {
		return elf.Symbol{}, err
	}
	for _, s := range syms {
		if s.Name == name && s.Section != elf.SHN_UNDEF {
			return s, nil
		}
	}
	return elf.Symbol{}, fmt.Errorf("no symbol %s", name)
}

// run executes exe under QEMU with the instruction trace and counts the
// instructions inside __cabi_arena_realloc between the driver's marks.
// size is the allocator's size when its symbol does not say (0: use the
// symbol's).
func run(tg target, dir, exe string, size uint64) ([nMeasures]int, error) {
	var counts [nMeasures]int
	if _, err := exec.LookPath(tg.qemu[0]); err != nil {
		return counts, fmt.Errorf("%s is not installed", tg.qemu[0])
	}
	f, err := elf.Open(exe)
	if err != nil {
		return counts, err
	}
	fn, err := symbol(f, "__cabi_arena_realloc")
	if err != nil {
		f.Close()
		return counts, err
	}
	mark, err := symbol(f, "bench_mark")
	machine := f.Machine
	f.Close()
	if err != nil {
		return counts, err
	}
	if size == 0 {
		size = fn.Size
	}
	lo, markPC := fn.Value, mark.Value
	if machine == elf.EM_ARM {
		// Thumb functions: bit 0 of the symbol is the instruction set.
		lo &^= 1
		markPC &^= 1
	}
	hi := lo + size

	logPath := filepath.Join(dir, "trace.log")
	args := append([]string{}, tg.qemu[1:]...)
	if tg.mprofile {
		args = append(args, "-nographic", "-monitor", "none", "-serial", "none",
			"-semihosting-config", "enable=on,target=native",
			"-singlestep", "-d", "exec,nochain", "-D", logPath, "-kernel", exe)
	} else {
		args = append(args, "-singlestep", "-d", "exec,nochain", "-D", logPath, exe)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tg.qemu[0], args...).CombinedOutput()
	if err != nil {
		return counts, fmt.Errorf("%s %s: %v (the driver checks every result: status 1 is a wrong result, 3 a trap)\n%s",
			tg.qemu[0], strings.Join(args, " "), err, out)
	}
	log, err := os.Open(logPath)
	if err != nil {
		return counts, err
	}
	defer log.Close()
	defer os.Remove(logPath)
	marks, err := count(log, lo, hi, markPC, &counts)
	if err != nil {
		return counts, err
	}
	if marks != 2*nMeasures {
		return counts, fmt.Errorf("the trace shows %d marks, want %d", marks, 2*nMeasures)
	}
	return counts, nil
}

// count reads a QEMU exec trace ("Trace N: HOST [CS_BASE/PC/FLAGS/CFLAGS]
// SYMBOL", one line per translation block, one instruction per block) and
// adds to counts[k] each instruction in [lo, hi) between marks 2k+1 and
// 2k+2. It returns how many marks it saw.
func count(r io.Reader, lo, hi, markPC uint64, counts *[nMeasures]int) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	marks := 0
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Trace ") {
			continue
		}
		open := strings.IndexByte(line, '[')
		end := strings.IndexByte(line, ']')
		if open < 0 || end < open {
			return marks, fmt.Errorf("cannot read trace line %q", line)
		}
		fields := strings.Split(line[open+1:end], "/")
		if len(fields) < 2 {
			return marks, fmt.Errorf("cannot read trace line %q", line)
		}
		pc, err := strconv.ParseUint(fields[1], 16, 64)
		if err != nil {
			return marks, fmt.Errorf("cannot read trace line %q: %v", line, err)
		}
		if pc == markPC {
			marks++
			continue
		}
		if marks%2 == 1 && pc >= lo && pc < hi {
			k := marks / 2
			if k < nMeasures {
				counts[k]++
			}
		}
	}
	return marks, sc.Err()
}
