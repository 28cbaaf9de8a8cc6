// Package linkwrap runs a user's link command with what elfpatch needs added
// to it, then patches the output: the logic behind linkerscripts/elfpatch-ld.
//
// What a link needs, whatever the command:
//
//   - linkerscripts/arena.ld, before the user's own scripts (GNU ld applies
//     an INSERT command to what comes after it);
//   - the reserve object, which brings the allocator's code slot, its state
//     word (into the user's .bss) and the arena's storage;
//   - --emit-relocs, so the image keeps the relocations elfpatch re-applies;
//   - --unresolved-symbols=ignore-all, so the link leaves the arena imports
//     undefined; elfpatch then refuses any other undefined symbol, naming it
//     and its first use, as the linker would have.
//
// A linker (GNU ld, ld.lld) gets them as they are; a compiler driver (gcc,
// clang) gets them behind -Xlinker (never -Wl,: a path may hold a comma).
// arena.ld goes in front of everything; the reserve object and the two
// options go after the user's arguments, so that the user's own
// --no-undefined or -z defs cannot undo them and the slot lands after the
// user's code. The user's arguments are passed on as they were given:
// response files stay response files.
//
// To find the output, the inputs and whether the link is a partial one,
// the wrapper reads the command as the tool does: -o FILE, -oFILE,
// --output=FILE, --output FILE (and GNU ld's abbreviations of it), a.out
// without any; for a driver also the linker's own -o behind -Wl, or
// -Xlinker, where the file the link wrote is the output (gcc passes no -o
// of its own without one, clang for bare-metal targets passes its own
// after the user's); response files (@FILE) with the tool's quoting,
// nested ones relative to the working directory. The target is the first
// ELF object among the inputs (or the first ELF member of an archive),
// else the tool's name (arm-...) or a driver's --target. Without one the
// link still runs, without a reserve object, so that a failure of its own
// comes through as the linker's; if it succeeds, its output is removed
// and the wrapper says it cannot tell the target.
//
// A partial link (-r, --relocatable, -Ur, -i; -r or -Wl,-r for a driver)
// is passed through untouched by default: its output is an object for a
// final link, and the final link is the one to wrap, which binds the
// imports of every object in it once; an allocator patched into every
// partial link of a build would be defined once per object. With
// ELFPATCH_PARTIAL=patch (Config.Partial) the wrapper patches the partial
// link's output object instead, the way "elfpatch app.o" does: it gains
// the allocator, its state and the arena, so that a final link the
// wrapper cannot reach (a build system's) needs nothing from elfpatch. The
// link itself runs as given either way: a partial link keeps its
// relocations and its undefined symbols by nature.
//
// A link that fails exits with the linker's status, its output and
// messages passed through byte for byte, and leaves nothing of the
// wrapper's behind; a signal that would stop the wrapper goes to the link,
// and the wrapper cleans up after it. A driver command naming an input
// file that does not exist runs as it is: the driver refuses it before it
// links, and the wrapper's additions would change its words (clang counts
// -Xlinker options as inputs). An output elfpatch refuses is removed, as a
// linker removes an output it failed to finish, so that no build system
// takes it for a finished one. The wrapper's own messages begin with
// "elfpatch-ld:" and name the link command's tool; a command it cannot
// work with exits 2.
package linkwrap

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pulseengine/elfpatch/linkerscripts"
	"github.com/pulseengine/elfpatch/patcher"
)

// Name is how the wrapper's messages begin.
const Name = "elfpatch-ld"

// Partial is what the wrapper does with a partial link's output.
type Partial int

const (
	// PartialPass leaves a partial link's output as the linker wrote it:
	// the final link is the one to wrap.
	PartialPass Partial = iota
	// PartialPatch patches a partial link's output object.
	PartialPatch
)

// ParsePartial reads ELFPATCH_PARTIAL: "" or "pass", or "patch".
func ParsePartial(s string) (Partial, error) {
	switch s {
	case "", "pass":
		return PartialPass, nil
	case "patch":
		return PartialPatch, nil
	}
	return 0, fmt.Errorf("ELFPATCH_PARTIAL=%s: want pass (the default) or patch", s)
}

// Config is how one wrapped link runs.
type Config struct {
	// ArenaSize is reserved at link time and given to the patch.
	ArenaSize uint64
	// SlotSize is the code slot reserved for the allocator and its
	// veneers; 0 means the default.
	SlotSize uint64
	// Patch is false for a link only: the image is left ready for a later
	// elfpatch call, and a partial link's output is left untouched.
	Patch bool
	// Partial is what a partial link's output gets.
	Partial Partial
	// PatchImage patches the linked image in place, or with dryRun only
	// checks that it could be patched.
	PatchImage func(path string, dryRun bool) error
	// PatchObject patches a partial link's output object in place (with
	// Partial == PartialPatch).
	PatchObject    func(path string) error
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// UsageError is a link command the wrapper cannot work with: exit status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

type kind int

const (
	gnuLD kind = iota
	lld
	gccDriver
	clangDriver
)

func (k kind) driver() bool { return k == gccDriver || k == clangDriver }

// Run runs the link command argv with elfpatch's additions and patches its
// output. It returns the exit status to leave with: the linker's own when
// the link fails, whose messages and output come through unchanged; 2 for
// a command the wrapper cannot work with; 1 when the patch fails. It
// writes its own messages, each line beginning with "elfpatch-ld:", to
// cfg.Stderr.
func Run(argv []string, cfg Config) int {
	code, err := run(argv, cfg)
	if err != nil {
		for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
			fmt.Fprintf(cfg.Stderr, "%s: %s\n", Name, line)
		}
		var ue *UsageError
		if errors.As(err, &ue) && len(argv) == 0 {
			fmt.Fprintf(cfg.Stderr, "usage: %s LINK-COMMAND...\n", Name)
		}
	}
	return code
}

func run(argv []string, cfg Config) (int, error) {
	if len(argv) == 0 {
		return 2, &UsageError{"no link command given"}
	}
	tool := argv[0]
	k, err := classify(tool)
	if err != nil {
		return 2, err
	}
	if _, err := exec.LookPath(tool); err != nil {
		return 2, &UsageError{fmt.Sprintf("%s: no such linker or compiler driver: %v", tool, lookPathReason(err))}
	}
	args := argv[1:]
	c := readCommand(k, args)
	if c.partial {
		return runPartial(argv, c, cfg)
	}
	if c.missing != "" {
		// The driver refuses the command before it links, in its own
		// words, which the wrapper's additions would change (clang
		// counts -Xlinker options as inputs): run it as it is.
		before := snapshot(c.outputs)
		if code, err := execute(argv, cfg); code != 0 || err != nil {
			return code, err
		}
		if out, err := writtenOutput(tool, c.outputs, before); err == nil {
			os.Remove(out)
		}
		return 1, fmt.Errorf("%s: the link succeeded without its input %s, and without elfpatch", tool, c.missing)
	}
	target, targetErr := detectTarget(k, tool, c)
	dir, err := os.MkdirTemp("", "elfpatch-ld-")
	if err != nil {
		return 1, fmt.Errorf("%s: %v", tool, err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "arena.ld")
	if err := os.WriteFile(script, linkerscripts.ArenaLD, 0o644); err != nil {
		return 1, fmt.Errorf("%s: %v", tool, err)
	}
	reserve := ""
	if targetErr == nil {
		obj, err := patcher.ReserveObject(patcher.ReserveOptions{
			Machine: target.machine, Class: target.class, Flags: target.flags,
			ArenaSize: cfg.ArenaSize, SlotSize: cfg.SlotSize,
		})
		if err != nil {
			return 1, fmt.Errorf("%s: %v", tool, err)
		}
		reserve = filepath.Join(dir, "elfpatch-reserve.o")
		if err := os.WriteFile(reserve, obj, 0o644); err != nil {
			return 1, fmt.Errorf("%s: %v", tool, err)
		}
	}
	cmd := wrappedCommand(k, argv, c.dashdash, script, reserve)
	before := snapshot(c.outputs)
	if code, err := execute(cmd, cfg); code != 0 || err != nil {
		return code, err
	}
	out, err := writtenOutput(tool, c.outputs, before)
	if err != nil {
		return 1, err
	}
	if targetErr != nil {
		// Without a target there is no reserve object: the link ran
		// only so that a failure of its own came through as the
		// linker's. It succeeded, so the failure is the wrapper's.
		os.Remove(out)
		return 2, fmt.Errorf("%s: %v", tool, targetErr)
	}
	// An image that cannot be patched is a failed link: like a linker, the
	// wrapper leaves no output behind, so no build system takes it for a
	// finished one. A link only still checks, for the undefined symbols
	// --unresolved-symbols=ignore-all let through.
	if err := cfg.PatchImage(out, !cfg.Patch); err != nil {
		os.Remove(out)
		return 1, err
	}
	return 0, nil
}

// runPartial runs a partial link as it is and, if asked to, patches the
// object it wrote.
func runPartial(argv []string, c command, cfg Config) (int, error) {
	before := snapshot(c.outputs)
	if code, err := execute(argv, cfg); code != 0 || err != nil || cfg.Partial != PartialPatch || !cfg.Patch {
		return code, err
	}
	out, err := writtenOutput(argv[0], c.outputs, before)
	if err != nil {
		return 1, err
	}
	if err := cfg.PatchObject(out); err != nil {
		os.Remove(out)
		return 1, err
	}
	return 0, nil
}

// wrappedCommand is the link command argv with elfpatch's additions: the
// arena script in front of everything (GNU ld applies its INSERT to the
// scripts after it; a driver puts its own -T options after the objects and
// linker options, in front of which a user's -Wl,-T script would then
// stand), the reserve object (if any) and the two options after the
// user's arguments, before a driver's "--" if it has one. A driver gets
// all of them through -Xlinker rather than -Wl: a path may hold a comma.
func wrappedCommand(k kind, argv []string, dashdash int, script, reserve string) []string {
	front := []string{"-T", script}
	back := []string{"--emit-relocs", "--unresolved-symbols=ignore-all"}
	if k.driver() {
		front = []string{"-Xlinker", "-T", "-Xlinker", script}
		back = []string{"-Xlinker", "--emit-relocs", "-Xlinker", "--unresolved-symbols=ignore-all"}
	}
	if reserve != "" && k.driver() {
		// Behind -Xlinker too: a driver that counted it among its inputs
		// would not say "no input files" where the user's command does.
		back = append([]string{"-Xlinker", reserve}, back...)
	} else if reserve != "" {
		back = append([]string{reserve}, back...)
	}
	args := argv[1:]
	end := len(args)
	if dashdash >= 0 {
		end = dashdash
	}
	cmd := append([]string{argv[0]}, front...)
	cmd = append(cmd, args[:end]...)
	cmd = append(cmd, back...)
	return append(cmd, args[end:]...)
}

// fileState is what an output path held before the link.
type fileState struct {
	info os.FileInfo // nil: nothing
}

func snapshot(paths []string) []fileState {
	s := make([]fileState, len(paths))
	for i, p := range paths {
		if st, err := os.Stat(p); err == nil {
			s[i].info = st
		}
	}
	return s
}

// writtenOutput is the output the link wrote: its one output, or of two
// candidates the one that is new since before.
func writtenOutput(tool string, outputs []string, before []fileState) (string, error) {
	if len(outputs) == 1 {
		if _, err := os.Stat(outputs[0]); err != nil {
			return "", fmt.Errorf("%s: the link succeeded but wrote no %s", tool, outputs[0])
		}
		return outputs[0], nil
	}
	for i, p := range outputs {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		old := before[i].info
		if old == nil || !os.SameFile(old, st) || !old.ModTime().Equal(st.ModTime()) || old.Size() != st.Size() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: the link succeeded but wrote neither %s", tool, strings.Join(outputs, " nor "))
}

// execute runs argv with cfg's standard streams and returns its exit
// status. Signals that would end the wrapper go to the tool instead,
// so that the wrapper outlives it and removes its temporary files; a tool
// killed by a signal gives 128 plus the signal's number, as a shell does.
func execute(argv []string, cfg Config) (int, error) {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = cfg.Stdin, cfg.Stdout, cfg.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		return 2, fmt.Errorf("%s: cannot run it: %v", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	var caught os.Signal
wait:
	for {
		select {
		case s := <-sigs:
			caught = s
			c.Process.Signal(s)
		case err = <-done:
			break wait
		}
	}
	var exit *exec.ExitError
	switch {
	case err == nil && caught == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode(), nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), fmt.Errorf("%s: %v", argv[0], ws.Signal())
		}
	case err == nil:
		// The tool finished despite the signal; the wrapper still stops.
		if s, ok := caught.(syscall.Signal); ok {
			return 128 + int(s), fmt.Errorf("%s: %v", argv[0], s)
		}
		return 1, fmt.Errorf("%s: %v", argv[0], caught)
	}
	return 1, fmt.Errorf("%s: %v", argv[0], err)
}

func lookPathReason(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		if errors.Is(ee.Err, exec.ErrNotFound) {
			return errors.New("not found in PATH")
		}
		return ee.Err
	}
	return err
}

// classify tells a linker from a compiler driver by its name.
func classify(argv0 string) (kind, error) {
	base := filepath.Base(argv0)
	switch {
	case strings.Contains(base, "clang"):
		return clangDriver, nil
	case strings.Contains(base, "gcc"), strings.Contains(base, "g++"),
		base == "cc", base == "c++", strings.HasSuffix(base, "-cc"), strings.HasSuffix(base, "-c++"):
		return gccDriver, nil
	case strings.Contains(base, "lld"):
		return lld, nil
	case base == "ld", strings.HasSuffix(base, "-ld"), strings.HasPrefix(base, "ld."), strings.Contains(base, "-ld."):
		return gnuLD, nil
	}
	return 0, &UsageError{fmt.Sprintf("%s: not a linker (ld, ld.bfd, ld.lld, TRIPLE-ld) or a compiler driver (gcc, clang, cc) that %s knows by its name", argv0, Name)}
}

type targetInfo struct {
	machine elf.Machine
	class   elf.Class
	flags   uint32
}

// detectTarget finds the machine the link is for, so that the reserve
// object matches it: from the first ELF object among the inputs (or the
// first ELF member of an archive), else from the tool's name or a
// driver's --target.
func detectTarget(k kind, tool string, c command) (targetInfo, error) {
	for _, in := range c.inputs {
		if t, ok := fileTarget(in); ok {
			return t, nil
		}
	}
	arm := targetInfo{machine: elf.EM_ARM, class: elf.ELFCLASS32, flags: eabiVer5}
	if base := filepath.Base(tool); strings.HasPrefix(base, "arm-") || strings.HasPrefix(base, "thumb") {
		return arm, nil
	}
	if k.driver() && (strings.HasPrefix(c.target, "arm") || strings.HasPrefix(c.target, "thumb")) {
		return arm, nil
	}
	return targetInfo{}, &UsageError{"cannot tell the target: no ELF object or archive among the link's inputs"}
}

// eabiVer5 is EF_ARM_EABI_VER5, what every current ARM toolchain writes.
const eabiVer5 = 0x05000000

func fileTarget(path string) (targetInfo, bool) {
	f, err := os.Open(path)
	if err != nil {
		return targetInfo{}, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return targetInfo{}, false
	}
	if t, ok := objectTarget(io.NewSectionReader(f, 0, st.Size())); ok {
		return t, true
	}
	return archiveTarget(f, st.Size())
}

// objectTarget reads the target of an ELF relocatable object.
func objectTarget(r *io.SectionReader) (targetInfo, bool) {
	f, err := elf.NewFile(r)
	if err != nil || f.Type != elf.ET_REL {
		return targetInfo{}, false
	}
	t := targetInfo{machine: f.Machine, class: f.Class}
	var flags [4]byte
	off := int64(48)
	if f.Class == elf.ELFCLASS32 {
		off = 36
	}
	if _, err := r.ReadAt(flags[:], off); err != nil {
		return targetInfo{}, false
	}
	t.flags = f.ByteOrder.Uint32(flags[:])
	return t, true
}

// archiveTarget looks at the first ELF member of a Unix ar archive.
func archiveTarget(r io.ReaderAt, size int64) (targetInfo, bool) {
	const magic = "!<arch>\n"
	head := make([]byte, len(magic))
	if _, err := r.ReadAt(head, 0); err != nil || string(head) != magic {
		return targetInfo{}, false
	}
	off := int64(len(magic))
	hdr := make([]byte, 60)
	for off+60 <= size {
		if _, err := r.ReadAt(hdr, off); err != nil {
			return targetInfo{}, false
		}
		var n int64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(hdr[48:58])), "%d", &n); err != nil || n < 0 || off+60+n > size {
			return targetInfo{}, false
		}
		if t, ok := objectTarget(io.NewSectionReader(r, off+60, n)); ok {
			return t, true
		}
		off += 60 + n + n%2
	}
	return targetInfo{}, false
}
