package main

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/linkwrap"
	"github.com/pulseengine/elfpatch/patcher"
)

// maxInput bounds the files elfpatch maps: far above any firmware image,
// debug information and all. The file is mapped, not read: what elfpatch
// holds in memory is its tables.
const maxInput = 16 << 30

// load maps and decodes FILE. The source stays open (and mapped) for the
// write; the process's end closes it.
func load(path string) (*patcher.Image, os.FileMode, error) {
	img, mode, src, err := open(path)
	if src != nil {
		loaded = append(loaded, src)
	}
	return img, mode, err
}

// loaded are the sources load left open.
var loaded []*patcher.Source

// open maps and decodes FILE; the caller closes the source.
func open(path string) (*patcher.Image, os.FileMode, *patcher.Source, error) {
	img, mode, src, err := openFile(path)
	if err != nil && src != nil {
		src.Close()
		src = nil
	}
	return img, mode, src, err
}

func openFile(path string) (*patcher.Image, os.FileMode, *patcher.Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %v", path, unwrap(err))
	}
	if st.IsDir() {
		return nil, 0, nil, fmt.Errorf("%s: is a directory", path)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > maxInput {
		return nil, 0, nil, fmt.Errorf("%s: %d bytes is larger than any image elfpatch reads (%d)", path, st.Size(), maxInput)
	}
	src, err := patcher.OpenSource(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %v", path, unwrap(err))
	}
	img, err := patcher.Read(path, src.Data)
	if err != nil {
		return nil, 0, src, err
	}
	return img, st.Mode().Perm(), src, nil
}

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func options(c *cli.Context) (patcher.Options, error) {
	o := patcher.Options{
		Version:        version,
		Imports:        c.StringSlice("import"),
		AllowUndefined: c.Bool("allow-undefined"),
		Variant:        c.String("variant"),
	}
	if path := c.String("arena-object"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return o, fmt.Errorf("%s: %v", path, unwrap(err))
		}
		sum := sha256.Sum256(data)
		o.ArenaObject = &arenablob.Variant{Name: filepath.Base(path), Source: path, Object: data, SHA256: hex.EncodeToString(sum[:])}
	}
	o.PointerBase = c.String("pointer-base")
	if text := c.String("pointer-limit"); text != "" {
		n, err := parseSize(text)
		if err != nil {
			return o, &usageError{"--pointer-limit: " + err.Error()}
		}
		o.PointerLimit = n
	}
	if c.IsSet("arena-size") {
		n, err := parseSize(c.String("arena-size"))
		if err != nil {
			return o, &usageError{err.Error()}
		}
		o.ArenaSize, o.SetSize = n, true
	}
	return o, nil
}

// failJSON reports a failure as JSON on stdout too, when --json asks for
// machine-readable reports; the error still goes to stderr.
func failJSON(c *cli.Context, file string, err error) error {
	if c.Bool("json") {
		printJSON(c.App.Writer, map[string]any{"schema": "elfpatch/error/1", "file": file, "ok": false, "errors": strings.Split(err.Error(), "\n")})
	}
	return err
}

func patchCommand(c *cli.Context) error {
	file, err := oneFile(c)
	if err != nil {
		return err
	}
	opts, err := options(c)
	if err != nil {
		return err
	}
	out := c.String("output")
	if out == "" {
		out = file
	}
	result, err := patchFile(file, out, opts, c.Bool("dry-run"))
	if err != nil {
		return failJSON(c, file, err)
	}
	w := c.App.Writer
	if c.Bool("json") {
		return printJSON(w, result)
	}
	if c.Bool("dry-run") {
		printPlan(w, result.Plan)
		return nil
	}
	fmt.Fprintln(w, summary(result))
	return nil
}

// patchResult is what a patch did, for --json.
type patchResult struct {
	// Schema names this report's JSON form (docs/json.md).
	Schema string `json:"schema"`
	*patcher.Plan
	Output  string `json:"output,omitempty"`
	Written bool   `json:"written"`
}

// patchFile plans the patch of file, checks its result and writes it to
// out. Nothing is written unless the whole patch succeeded and the patched
// bytes verify.
func patchFile(file, out string, opts patcher.Options, dryRun bool) (*patchResult, error) {
	img, mode, src, err := open(file)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	plan, err := patcher.NewPlan(img, opts)
	if err != nil {
		return nil, err
	}
	res := &patchResult{Schema: "elfpatch/patch/1", Plan: plan}
	if dryRun {
		return res, nil
	}
	same := plan.Action == "nothing to bind" || plan.Action == "unchanged"
	if out == file && same {
		return res, nil
	}
	output := patcher.Copy(img)
	var check func([]byte) error
	if !same {
		if output, err = plan.Render(); err != nil {
			return nil, err
		}
		// The patched bytes must read back and verify before they replace
		// anything: WriteOutput hands them over before its rename.
		check = func(data []byte) error {
			back, err := patcher.Read(file, data)
			if err != nil {
				return fmt.Errorf("%s: internal error: the patched image does not read back: %v", file, err)
			}
			rep, err := patcher.Verify(back, opts)
			if err != nil {
				return fmt.Errorf("%s: internal error: the patched image does not verify: %v", file, err)
			}
			if !rep.OK {
				return fmt.Errorf("%s: internal error: the patched image does not verify:\n%s", file, strings.Join(rep.Problems, "\n"))
			}
			return nil
		}
	}
	if st, err := os.Stat(out); err == nil && st.Mode().IsRegular() {
		mode = st.Mode().Perm()
	}
	if _, err := patcher.WriteOutput(out, output, src.File, mode, check); err != nil {
		return nil, err
	}
	res.Output, res.Written = out, true
	return res, nil
}

func summary(r *patchResult) string {
	p := r.Plan
	switch p.Action {
	case "nothing to bind":
		return fmt.Sprintf("%s: nothing to bind", p.File)
	case "unchanged":
		return fmt.Sprintf("%s: already bound, arena %d bytes; unchanged", p.File, p.Arena.NewSize)
	}
	if p.Relocatable && p.Action == "bind" {
		what := "the " + p.Allocator.Variant + " allocator"
		if p.Allocator.Linked {
			what = "its own allocator"
		}
		s := fmt.Sprintf("%s: defined %s as %s; the final link binds its %d sites", r.Output, importNames(p), what, len(p.Sites))
		if p.Arena != nil {
			s += fmt.Sprintf("; arena %d bytes", p.Arena.NewSize)
		}
		return s
	}
	if p.Action == "resize" {
		return fmt.Sprintf("%s: arena %#x resized to %d bytes", r.Output, p.Arena.Address, p.Arena.NewSize)
	}
	s := fmt.Sprintf("%s: bound %d sites of %s to the %s allocator at %#x", r.Output, len(p.Sites), importNames(p), p.Allocator.Variant, p.Allocator.Address)
	if p.Arena != nil {
		s += fmt.Sprintf("; arena %#x, %d bytes", p.Arena.Address, p.Arena.NewSize)
	}
	return s
}

func printPlan(w io.Writer, p *patcher.Plan) {
	fmt.Fprintf(w, "file:      %s (%s", p.File, p.Machine)
	if p.Linker != "" {
		fmt.Fprintf(w, ", linked by %s", p.Linker)
	}
	fmt.Fprintf(w, ")\naction:    %s\n", p.Action)
	for i, imp := range p.Imports {
		label := "imports:  "
		if i > 0 {
			label = "          "
		}
		state := "undefined"
		if imp.Defined {
			state = fmt.Sprintf("defined at %#x", imp.Value)
		}
		fmt.Fprintf(w, "%s %s (%s, %d sites)\n", label, imp.Name, state, imp.Sites)
	}
	if len(p.Sites) > 0 {
		fmt.Fprintln(w, "sites:")
		for _, s := range p.Sites {
			fmt.Fprintf(w, "  %s+0x%x  %-22s %-22s %s -> %s\n", s.Section, s.Offset, s.Type, s.Symbol, s.Before, s.After)
		}
	}
	if p.Slot != nil {
		fmt.Fprintf(w, "slot:      %#x in %s, %d bytes (%d used)\n", p.Slot.Address, p.Slot.Section, p.Slot.Size, p.Slot.Used)
	}
	if p.Arena != nil {
		fmt.Fprintf(w, "arena:     %#x, %d bytes", p.Arena.Address, p.Arena.Size)
		if p.Arena.NewSize != p.Arena.Size {
			fmt.Fprintf(w, " -> %d bytes", p.Arena.NewSize)
		}
		fmt.Fprintf(w, " (at most %d)\n", p.Arena.Max)
	}
	if p.State != nil {
		fmt.Fprintf(w, "state:     %#x in %s\n", p.State.Address, p.State.Section)
	}
	if a := p.Allocator; a != nil {
		fmt.Fprintf(w, "allocator: %s at %#x, %d bytes", a.Variant, a.Address, a.Size)
		if a.SHA256 != "" {
			fmt.Fprintf(w, ", sha256:%s", a.SHA256)
		}
		fmt.Fprintln(w)
	}
	if len(p.Changes) > 0 {
		fmt.Fprintln(w, "changes:")
		for _, ch := range p.Changes {
			fmt.Fprintf(w, "  file 0x%x+%d  %s\n", ch.FileOffset, ch.Size, ch.What)
		}
	}
}

// readCommandFile takes the FILE and the options of inspect and verify and
// reads the image.
func readCommandFile(c *cli.Context) (*patcher.Image, patcher.Options, error) {
	file, err := oneFile(c)
	if err != nil {
		return nil, patcher.Options{}, err
	}
	opts, err := options(c)
	if err != nil {
		return nil, opts, err
	}
	img, _, err := load(file)
	if err != nil {
		return nil, opts, failJSON(c, file, err)
	}
	return img, opts, nil
}

func inspectCommand(c *cli.Context) error {
	img, opts, err := readCommandFile(c)
	if err != nil {
		return err
	}
	rep := patcher.Inspect(img, opts)
	if c.Bool("json") {
		return printJSON(c.App.Writer, rep)
	}
	printInspect(c.App.Writer, rep)
	return nil
}

func printInspect(w io.Writer, r *patcher.Report) {
	if pv := r.Provenance; pv != nil {
		fmt.Fprintf(w, "patched:   by elfpatch %s, allocator %s, arena %d bytes", pv.Version, pv.Variant, pv.ArenaSize)
		if pv.SHA256 != "" {
			fmt.Fprintf(w, ", sha256:%s", pv.SHA256)
		}
		if pv.PointerBase != "" {
			fmt.Fprintf(w, ", pointers from %s", pv.PointerBase)
		}
		fmt.Fprintln(w)
	}
	if r.Plan != nil {
		printPlan(w, r.Plan)
		return
	}
	fmt.Fprintf(w, "file:      %s (%s)\n", r.File, r.Machine)
	for _, imp := range r.Imports {
		fmt.Fprintf(w, "import:    %s (defined: %v, %d sites)\n", imp.Name, imp.Defined, imp.Sites)
	}
	for _, s := range r.Sites {
		fmt.Fprintf(w, "  %s+0x%x  %-22s %-22s %s\n", s.Section, s.Offset, s.Type, s.Symbol, s.Before)
	}
	fmt.Fprintf(w, "patch:     refused:\n")
	for _, line := range r.Problems {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

func verifyCommand(c *cli.Context) error {
	img, opts, err := readCommandFile(c)
	if err != nil {
		return err
	}
	file := img.Name
	rep, err := patcher.Verify(img, opts)
	if err != nil {
		return failJSON(c, file, err)
	}
	w := c.App.Writer
	if c.Bool("json") {
		printJSON(w, rep)
	} else if rep.OK {
		fmt.Fprintf(w, "%s: ok: %d sites reach the allocator\n", file, len(rep.Sites))
	}
	if !rep.OK {
		for _, p := range rep.Problems {
			fmt.Fprintf(c.App.ErrWriter, "elfpatch: %s\n", p)
		}
		return exitStatus(1)
	}
	return nil
}

func reserveCommand(c *cli.Context) error {
	if c.NArg() != 0 {
		return usagef("reserve-object takes no arguments, got: %s", strings.Join(c.Args().Slice(), " "))
	}
	size, err := parseSize(c.String("arena-size"))
	if err != nil {
		return &usageError{err.Error()}
	}
	var slot uint64
	if text := c.String("slot-size"); text != "" {
		if slot, err = parseSize(text); err != nil {
			return &usageError{err.Error()}
		}
	}
	o := patcher.ReserveOptions{ArenaSize: size, SlotSize: slot}
	switch like, machine := c.String("like"), c.String("machine"); {
	case like != "":
		f, err := elf.Open(like)
		if err != nil {
			return fmt.Errorf("%s: %v", like, err)
		}
		defer f.Close()
		o.Machine, o.Class = f.Machine, f.Class
		data, err := os.ReadFile(like)
		if err != nil {
			return err
		}
		if f.Class == elf.ELFCLASS32 && len(data) >= 40 {
			o.Flags = f.ByteOrder.Uint32(data[36:])
		} else if f.Class == elf.ELFCLASS64 && len(data) >= 52 {
			o.Flags = f.ByteOrder.Uint32(data[48:])
		}
	case machine != "":
		m, ok := machines[machine]
		if !ok {
			return usagef("unknown machine %q (have: arm, riscv32, aarch64, x86_64)", machine)
		}
		o.Machine, o.Class, o.Flags = m.machine, m.class, m.flags
	default:
		return usagef("give --like OBJ or --machine NAME")
	}
	obj, err := patcher.ReserveObject(o)
	if err != nil {
		return err
	}
	return patcher.WriteFile(c.String("output"), obj, 0o644)
}

// linkCommand runs elfpatch-ld's link: the environment says how.
//
//	ELFPATCH_ARENA_SIZE  arena size reserved and patched (default 16K)
//	ELFPATCH_SLOT_SIZE   code slot for the allocator and veneers (default per architecture)
//	ELFPATCH_PATCH=0     link only, leaving the image for a later elfpatch
//	ELFPATCH_PARTIAL     a partial link's (-r) output: pass (the default) or patch
//
// The wrapper reports its own errors, as elfpatch-ld.
func linkCommand(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	fail := func(format string, a ...any) error {
		fmt.Fprintf(c.App.ErrWriter, "%s: %s\n", linkwrap.Name, fmt.Sprintf(format, a...))
		return exitStatus(2)
	}
	sizeText, sizeSet := os.LookupEnv("ELFPATCH_ARENA_SIZE")
	if sizeText == "" {
		sizeText, sizeSet = "16K", false
	}
	size, err := parseSize(sizeText)
	if err != nil {
		return fail("ELFPATCH_ARENA_SIZE: %v", err)
	}
	var slot uint64
	if text := os.Getenv("ELFPATCH_SLOT_SIZE"); text != "" {
		if slot, err = parseSize(text); err != nil {
			return fail("ELFPATCH_SLOT_SIZE: %v", err)
		}
	}
	partial, err := linkwrap.ParsePartial(os.Getenv("ELFPATCH_PARTIAL"))
	if err != nil {
		return fail("%v", err)
	}
	cfg := linkwrap.Config{
		ArenaSize: size,
		SlotSize:  slot,
		Patch:     os.Getenv("ELFPATCH_PATCH") != "0",
		Partial:   partial,
		Stdin:     c.App.Reader,
		Stdout:    c.App.Writer,
		Stderr:    c.App.ErrWriter,
		// The link reserved exactly the arena asked for, so the patch keeps
		// the linked size; an image that links its own allocator has
		// nothing to resize.
		PatchImage: func(path string, dryRun bool) error {
			_, err := patchFile(path, path, patcher.Options{Version: version}, dryRun)
			return err
		},
	}
	// A partial link's object is patched like "elfpatch app.o": to the
	// arena size asked for, or the object default; an object's own
	// allocator that does not use the region symbols cannot be sized.
	cfg.PatchObject = func(path string) error {
		_, err := patchFile(path, path, patcher.Options{Version: version, ArenaSize: size, SetSize: sizeSet}, false)
		return err
	}
	if code := linkwrap.Run(args, cfg); code != 0 {
		return exitStatus(code)
	}
	return nil
}

// machines are what reserve-object --machine accepts, with the ELF header
// flags a compiler of that machine writes by default.
var machines = map[string]struct {
	machine elf.Machine
	class   elf.Class
	flags   uint32
}{
	"arm":     {elf.EM_ARM, elf.ELFCLASS32, 0x05000000},
	"riscv32": {elf.EM_RISCV, elf.ELFCLASS32, 0x1},
	"aarch64": {elf.EM_AARCH64, elf.ELFCLASS64, 0},
	"x86_64":  {elf.EM_X86_64, elf.ELFCLASS64, 0},
}

func importNames(p *patcher.Plan) string {
	var names []string
	for _, i := range p.Imports {
		names = append(names, i.Name)
	}
	return strings.Join(names, ", ")
}
