package tests

// A patched image stays as debuggable as it was: the allocator has a
// symbol with its size and, when the image carries DWARF (compressed or
// not), a compile unit naming its source in arena_blob/. gdb-multiarch,
// attached to QEMU's gdbstub (or running the host program itself), stops
// at a breakpoint on __cabi_arena_realloc and lists its source line.

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const toolGDB = "gdb-multiarch"

// freePort returns a TCP port nothing listens on just now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// gdbBreakOnAllocator runs elf with args under tg's emulator, stopped for
// gdb, and has gdb break on __cabi_arena_realloc, continue to it, and
// print the frame. gdb runs in the repository's root, where the compile
// unit's relative source name leads. It returns gdb's output.
func gdbBreakOnAllocator(t *testing.T, tg *target, elf, args string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := []string{"set pagination off", "set confirm off", "set tcp connect-timeout 30"}
	var emu *exec.Cmd
	switch tg.Run.Kind {
	case runNative:
		script = append(script, "break __cabi_arena_realloc", "run "+args)
	default:
		port := freePort(t)
		base := filepath.Base(elf)
		if tg.Run.Kind == runSemihosting {
			qargs := append(append([]string{}, tg.Run.Args...), "-nographic", "-monitor", "none", "-serial", "none",
				"-semihosting-config", "enable=on,target=native", "-gdb", fmt.Sprintf("tcp:127.0.0.1:%d", port), "-S", "-kernel", base, "-append", args)
			emu = exec.CommandContext(ctx, tg.Run.Tool, qargs...)
		} else {
			qargs := append(append([]string{}, tg.Run.Args...), "-g", strconv.Itoa(port), base)
			emu = exec.CommandContext(ctx, tg.Run.Tool, append(qargs, strings.Fields(args)...)...)
		}
		emu.Dir = filepath.Dir(elf)
		var emuOut bytes.Buffer
		emu.Stdout, emu.Stderr = &emuOut, &emuOut
		emu.WaitDelay = 5 * time.Second
		if err := emu.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			emu.Process.Kill()
			emu.Wait()
			t.Logf("%s output:\n%s", tg.Run.Tool, emuOut.String())
		}()
		script = append(script, fmt.Sprintf("target remote 127.0.0.1:%d", port), "break __cabi_arena_realloc", "continue")
	}
	script = append(script, "frame", "kill")
	gargs := []string{"-nx", "-batch"}
	for _, s := range script {
		gargs = append(gargs, "-ex", s)
	}
	gargs = append(gargs, elf)
	gdb := exec.CommandContext(ctx, toolGDB, gargs...)
	gdb.Dir = repoPath(t, ".")
	gdb.WaitDelay = 5 * time.Second
	out, err := gdb.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("gdb timed out:\n%s", out)
	}
	if err != nil {
		t.Logf("gdb: %v", err)
	}
	return string(out)
}

// stopLine matches the frame gdb prints at the breakpoint, and the source
// line it lists under it.
var stopLine = regexp.MustCompile(`(?m)^#0  (?:0x[0-9a-f]+ in )?__cabi_arena_realloc \(\) at (arena_blob/[a-z0-9_]+\.S):(\d+)\n(\d+)\t(.*)$`)

// requireAllocatorSourceListed checks gdb stopped in the allocator at a
// line of source, and listed that line as the file has it.
func requireAllocatorSourceListed(t *testing.T, out, wantSource string) {
	t.Helper()
	if !strings.Contains(out, "Breakpoint 1, ") {
		t.Fatalf("the breakpoint on __cabi_arena_realloc was not hit:\n%s", out)
	}
	m := stopLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("gdb did not stop in the allocator's source with the line listed:\n%s", out)
	}
	if m[1] != wantSource || m[2] != m[3] {
		t.Fatalf("stopped at %s:%s listing line %s, want a line of %s:\n%s", m[1], m[2], m[3], wantSource, out)
	}
	t.Logf("gdb: %s", m[0])
	src, err := os.ReadFile(repoPath(t, m[1]))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(m[2])
	lines := strings.Split(string(src), "\n")
	if n < 1 || n > len(lines) || strings.TrimRight(lines[n-1], " \t") != strings.TrimRight(m[4], " \t") {
		t.Fatalf("gdb listed %s:%d as %q; the file has %q", m[1], n, m[4], lines[min(max(n, 1), len(lines))-1])
	}
}

// sourceOf is the allocator source each target's images receive.
var sourceOf = map[string]string{
	"m3": "arena_blob/thumb2.S", "m33": "arena_blob/thumb2.S", "r5": "arena_blob/thumb2.S", "m0": "arena_blob/thumb1.S",
	"rv32imac": "arena_blob/rv32.S", "rv32ima": "arena_blob/rv32.S",
	"aarch64": "arena_blob/aarch64.S", "x86_64": "arena_blob/x86_64.S",
}

func TestGDBStopsInTheAllocatorAndListsItsSource(t *testing.T) {
	for _, tg := range targets {
		for _, compress := range []string{"none", "zlib", "zstd"} {
			tg, compress := tg, compress
			t.Run(tg.Name+"/"+compress, func(t *testing.T) {
				t.Parallel()
				requireTarget(t, tg)
				requireTools(t, toolGDB)
				cc, shape := tg.Compilers[0], tg.Shapes[0]
				size := e2eArena(tg)
				objs := sharedObjects(t, cc, programOptions{CFlags: []string{"-g"}})
				elf := wrappedLink(t, shape, objs, tg.script(t, tg.Scripts[0]), filepath.Join(t.TempDir(), "app.elf"),
					[]string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", size)}, "--compress-debug-sections="+compress)
				mustElfpatch(t, "verify", elf)
				requireSectionCompressed(t, elf, ".debug_info", compress != "none")
				out := gdbBreakOnAllocator(t, tg, elf, fmt.Sprintf("contract %d", size))
				requireAllocatorSourceListed(t, out, sourceOf[tg.Name])
			})
		}
	}
}

// ld.lld's debug sections, zlib-compressed (ld.lld 14 has no zstd).
func TestGDBStopsInTheAllocatorOfAnLLDImage(t *testing.T) {
	tg := targetM3
	requireTarget(t, tg)
	requireTools(t, toolGDB)
	size := e2eArena(tg)
	objs := sharedObjects(t, tg.Compilers[1], programOptions{CFlags: []string{"-g"}})
	elf := wrappedLink(t, tg.shape(t, "ld.lld"), objs, tg.script(t, tg.Scripts[0]), filepath.Join(t.TempDir(), "app.elf"),
		[]string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", size)}, "--compress-debug-sections=zlib")
	mustElfpatch(t, "verify", elf)
	requireSectionCompressed(t, elf, ".debug_info", true)
	requireAllocatorSourceListed(t, gdbBreakOnAllocator(t, tg, elf, fmt.Sprintf("contract %d", size)), "arena_blob/thumb2.S")
}

// requireSectionCompressed checks the section's SHF_COMPRESSED flag, so
// that a test meant for compressed debug sections cannot pass on plain
// ones.
func requireSectionCompressed(t *testing.T, path, section string, want bool) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(section)
	if s == nil {
		t.Fatalf("%s has no %s", path, section)
	}
	if got := s.Flags&elf.SHF_COMPRESSED != 0; got != want {
		t.Fatalf("%s: %s compressed: %v, want %v", path, section, got, want)
	}
}
