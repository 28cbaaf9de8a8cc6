package tests

// Malformed inputs ("never corrupt, never surprise"): real inputs elfpatch
// handles — a linked image, a patched image, a synth object, a compiler's
// object, an ELF64 image — are damaged every way a broken tool or a bad
// copy damages a file, and the built elfpatch runs on each with every
// command: inspect, verify, a patch to -o OUT and a patch in place. Each
// run either exits 1 with a message that names the file first (and, where
// the damage has a place, the section or offset), or exits 0 with a valid
// result: an output that reads back, and verifies when it was bound. No run
// panics or shows a stack trace; a failed run changes neither the input's
// bytes nor its modification time and leaves no output or temporary file
// behind; a command that writes nothing writes nothing.
//
// ELFPATCH_MALFORMED_TRIALS sets the random byte flips per input (default
// 40); the flips are seeded, so a failure reproduces.

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulseengine/elfpatch/patcher"
)

// malformedSeed is a valid input and the flags every command gets for it.
type malformedSeed struct {
	name string
	data []byte
	args []string
	// patchArgs are the flags the patch gets besides args.
	patchArgs []string
	// imports are the symbol names bound at the seed's import sites.
	imports []string
}

// malformedSeeds builds the inputs the mutants start from.
func malformedSeeds(t *testing.T) []malformedSeed {
	t.Helper()
	requireTools(t, toolGCC, toolLD, toolClang, toolLLD)
	defaults := []string{importSnake, importKebab}
	linked := linkOnly(t, gccCompiler, "arm-none-eabi-ld", "16K", programOptions{})
	patched := filepath.Join(t.TempDir(), "patched.elf")
	mustElfpatch(t, "--arena-size", "8K", "-o", patched, linked)
	var contract string
	for _, o := range programObjects(t, gccCompiler, programOptions{}) {
		if filepath.Base(o) == "contract.o" {
			contract = o
		}
	}
	if contract == "" {
		t.Fatal("no contract.o among the program's objects")
	}
	tg := targetAArch64
	cc := tg.compiler(t, "clang")
	elf64 := wrappedLink(t, tg.shape(t, "ld.lld"), sharedObjects(t, cc, programOptions{}), tg.script(t, "linux.ld"),
		filepath.Join(t.TempDir(), "app64.elf"), []string{"ELFPATCH_ARENA_SIZE=16K", "ELFPATCH_PATCH=0"})
	return []malformedSeed{
		{name: "linked", data: readFile(t, linked), imports: defaults},
		{name: "patched", data: readFile(t, patched), imports: defaults},
		// synth's own ELF writer; poll-task stands in for the import, so
		// that the object is patched, not only read.
		{name: "synth", data: readFile(t, repoPath(t, "testdata/synth/drivers_os-node_os-ts-cm3.o")),
			args: []string{"--import", "poll-task"}, patchArgs: []string{"--allow-undefined"}, imports: []string{"poll-task"}},
		{name: "object", data: readFile(t, contract), patchArgs: []string{"--allow-undefined"}, imports: defaults},
		{name: "elf64", data: readFile(t, elf64), imports: defaults},
	}
}

// mutant is a damaged input and what elfpatch must make of it.
type mutant struct {
	name string
	data []byte
	// unreadable: every command exits 1 (a file that cannot be read).
	unreadable bool
	// refused: the patch exits 1 (inspect may read the file and report
	// the refusal).
	refused bool
	// msg are words the message of a refusal must have besides the file's
	// name: what is wrong, and where.
	msg []string
}

// elfFields are the ELF header and table field offsets of a class.
type elfFields struct {
	ehsize, phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx int
	shName, shOffset, shSize, shLink, shInfo, shEnt                    int
	symEnt, relOffsetW, word                                           int
}

var fieldsOf = map[elf.Class]elfFields{
	elf.ELFCLASS32: {52, 28, 32, 42, 44, 46, 48, 50, 0, 16, 20, 24, 28, 40, 16, 4, 4},
	elf.ELFCLASS64: {64, 32, 40, 54, 56, 58, 60, 62, 0, 24, 32, 40, 44, 64, 24, 8, 8},
}

// mutants makes the damaged copies of a seed.
func mutants(t *testing.T, seed malformedSeed, trials int) []mutant {
	t.Helper()
	data := seed.data
	img, err := patcher.Read(seed.name, data)
	if err != nil {
		t.Fatalf("seed %s: %v", seed.name, err)
	}
	F := fieldsOf[img.Class]
	o := binary.LittleEndian
	var out []mutant
	put := func(d []byte, off, width int, v uint64) []byte {
		d = bytes.Clone(d)
		switch width {
		case 1:
			d[off] = byte(v)
		case 2:
			o.PutUint16(d[off:], uint16(v))
		case 4:
			o.PutUint32(d[off:], uint32(v))
		default:
			o.PutUint64(d[off:], v)
		}
		return d
	}
	// set makes a mutant with one field changed: unreadable (u), refused
	// (r) or either way (any).
	const any, r, u = 0, 1, 2
	set := func(name string, off, width int, v uint64, want int, msg ...string) {
		out = append(out, mutant{name: name, data: put(data, off, width, v), unreadable: want == u, refused: want >= r, msg: msg})
	}
	huge := uint64(0xfffffff0)
	if img.Class == elf.ELFCLASS64 {
		huge = 0xfffffffffffff000
	}
	size := uint64(len(data))

	// Truncations: every length through the ELF header and the program
	// header table, then a spread, and around the section header table.
	headers := F.ehsize
	if end := int(img.Phoff) + len(img.Progs)*img.Phentsize; end > headers && end < len(data) {
		headers = end
	}
	lengths := map[int]bool{}
	for n := 0; n <= headers; n++ {
		lengths[n] = true
	}
	for i := 1; i < 32; i++ {
		lengths[headers+(len(data)-headers)*i/32] = true
	}
	for _, n := range []int{int(img.Shoff) - 1, int(img.Shoff), int(img.Shoff) + 1, len(data) - img.Shentsize, len(data) - 1} {
		if n > 0 && n < len(data) {
			lengths[n] = true
		}
	}
	var ns []int
	for n := range lengths {
		if n < len(data) {
			ns = append(ns, n)
		}
	}
	sort.Ints(ns)
	for _, n := range ns {
		out = append(out, mutant{name: fmt.Sprintf("truncated to %d bytes", n), data: bytes.Clone(data[:n]), unreadable: true, refused: true})
	}
	out = append(out, mutant{name: "empty", data: []byte{}, unreadable: true, refused: true, msg: []string{"not an ELF file"}})

	// Identity: class, byte order, version, machine, type.
	set("EI_CLASS 0", int(elf.EI_CLASS), 1, 0, u, "ELF class")
	set("EI_CLASS 3", int(elf.EI_CLASS), 1, 3, u, "ELF class")
	set("the other class", int(elf.EI_CLASS), 1, uint64(3-img.Class), r)
	set("big-endian", int(elf.EI_DATA), 1, uint64(elf.ELFDATA2MSB), r)
	set("EI_DATA 0", int(elf.EI_DATA), 1, 0, u, "byte order")
	set("EI_VERSION 0", int(elf.EI_VERSION), 1, 0, u, "version")
	set("e_version 2", 20, 4, 2, u, "version")
	set("machine SPARC", 18, 2, uint64(elf.EM_SPARC), r, "unsupported machine SPARC")
	set("machine 0xffff", 18, 2, 0xffff, r, "unsupported machine")
	set("type ET_DYN", 16, 2, uint64(elf.ET_DYN), r, "ET_DYN")
	set("type ET_CORE", 16, 2, uint64(elf.ET_CORE), r, "ET_CORE")
	set("type 0xfe00", 16, 2, 0xfe00, r, "file type")
	if img.Type == elf.ET_REL {
		set("type ET_EXEC", 16, 2, uint64(elf.ET_EXEC), any)
	} else {
		set("type ET_REL", 16, 2, uint64(elf.ET_REL), any)
	}

	// Header fields: tables past the end, huge counts and sizes, bad
	// indices.
	set("e_shoff past the end", F.shoff, F.word, size+0x100, u, "section header table", "past the end")
	set("e_shoff huge", F.shoff, F.word, huge, u, "section header table", "past the end")
	set("e_shoff inside the last header", F.shoff, F.word, size-uint64(img.Shentsize)/2, u, "section header table", "past the end")
	set("e_shnum 0xffff", F.shnum, 2, 0xffff, u, "section header table: 65535 entries", "past the end")
	set("e_shnum +1", F.shnum, 2, uint64(len(img.Sections)+1), u, "section header table", "past the end")
	set("e_shentsize 8", F.shentsize, 2, 8, u, "e_shentsize 8")
	set("e_shentsize 0xffff", F.shentsize, 2, 0xffff, u, "section header table", "past the end")
	set("e_shstrndx out of range", F.shstrndx, 2, 0xfeff, u, "e_shstrndx 65279 names no section")
	set("e_shstrndx SHN_XINDEX", F.shstrndx, 2, uint64(elf.SHN_XINDEX), u, "e_shstrndx 65535 names no section")
	if len(img.Progs) > 0 {
		set("e_phoff past the end", F.phoff, F.word, size+0x100, u, "program header table", "past the end")
		set("e_phoff huge", F.phoff, F.word, huge, u, "program header table", "past the end")
		set("e_phnum 0xffff", F.phnum, 2, 0xffff, u, "program header table: 65535 entries", "past the end")
		set("e_phentsize 8", F.phentsize, 2, 8, u, "e_phentsize 8")
	}
	// Extended numbering: e_shnum 0, the count in section 0's sh_size.
	ext := put(data, F.shnum, 2, 0)
	ext = put(ext, int(img.Shoff)+F.shSize, F.word, 0xffffffff)
	out = append(out, mutant{name: "2^32-1 sections (extended numbering)", data: ext, unreadable: true, refused: true,
		msg: []string{"section header table: 4294967295 entries", "past the end"}})

	// Section headers.
	for _, s := range img.Sections {
		h := int(img.Shoff) + s.Index*img.Shentsize
		label := s.Label()
		name := func(what string) string { return fmt.Sprintf("section %d (%s): %s", s.Index, label, what) }
		set(name("sh_name past the name table"), h+F.shName, 4, 0xfffff, u, fmt.Sprintf("section %d: sh_name 0xfffff lies outside the section name table", s.Index))
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			set(name("sh_size huge"), h+F.shSize, F.word, huge, any)
			continue
		}
		if s.Size == 0 {
			set(name("sh_offset past the end"), h+F.shOffset, F.word, size+0x1000, any)
			continue
		}
		where := label + ": "
		if s.Index == img.Shstrndx {
			where = "the section name table's contents"
		}
		set(name("sh_offset past the end"), h+F.shOffset, F.word, size+0x1000, u, where, "past the end of the file")
		set(name("sh_offset huge"), h+F.shOffset, F.word, huge, u, where, "past the end of the file")
		set(name("sh_size past the end"), h+F.shSize, F.word, size, u, where, "past the end of the file")
		set(name("sh_size huge"), h+F.shSize, F.word, huge, u, where, "past the end of the file")
		switch s.Type {
		case elf.SHT_SYMTAB:
			set(name("sh_link out of range"), h+F.shLink, 4, 0xffff, u, where, "sh_link 65535")
			set(name("size not a multiple of the entry"), h+F.shSize, F.word, s.Size-1, u, where, "not a multiple")
		case elf.SHT_REL, elf.SHT_RELA:
			set(name("sh_link out of range"), h+F.shLink, 4, 0xffff, u, where, "sh_link 65535")
			set(name("sh_info out of range"), h+F.shInfo, 4, 0xffff, u, where, "sh_info 65535")
			set(name("size not a multiple of the entry"), h+F.shSize, F.word, s.Size-1, u, where, "not a multiple")
		}
	}

	// Symbols: a name past the string table; the first, an import and the
	// last.
	if st := img.Symtab; st != nil && len(img.Syms) > 1 {
		ent := uint64(F.symEnt)
		picks := []int{1, len(img.Syms) - 1}
		for _, s := range img.Syms {
			if contains(seed.imports, s.Name) {
				picks = append(picks, s.Index)
			}
		}
		for _, i := range picks {
			set(fmt.Sprintf("symbol %d (%s): st_name past the string table", i, img.Syms[i].Name),
				int(st.Offset+uint64(i)*ent), 4, 0xffffff, u, fmt.Sprintf("%s+0x%x: symbol %d: name offset 0xffffff is outside the string table", st.Label(), uint64(i)*ent, i))
		}
	}

	// Relocations: a symbol index out of range; at an import site, an
	// offset outside the section and an unknown type.
	var firstSite *patcher.Reloc
	for _, r := range img.Relocs {
		if r.Sym != 0 && contains(seed.imports, img.Syms[r.Sym].Name) && r.Target.Alloc() {
			firstSite = r
			break
		}
	}
	for _, r := range []*patcher.Reloc{img.Relocs[0], img.Relocs[len(img.Relocs)-1], firstSite} {
		if r == nil {
			continue
		}
		at := func(r *patcher.Reloc) int {
			ent := 8
			if img.Class == elf.ELFCLASS64 {
				ent = 16
			}
			if r.Rela {
				ent += F.word
			}
			return int(r.Sec.Offset) + r.Index*ent
		}
		info := at(r) + F.relOffsetW
		d := bytes.Clone(data)
		if img.Class == elf.ELFCLASS64 {
			o.PutUint32(d[info+4:], 0xffffff)
		} else {
			o.PutUint32(d[info:], 0xffffff00|o.Uint32(d[info:])&0xff)
		}
		out = append(out, mutant{name: fmt.Sprintf("relocation %d of %s: symbol index out of range", r.Index, r.Sec.Label()),
			data: d, unreadable: true, refused: true, msg: []string{fmt.Sprintf("%s+0x%x: relocation %d: symbol index 16777215 is out of range", r.Sec.Label(), at(r)-int(r.Sec.Offset), r.Index)}})
		if r != firstSite {
			continue
		}
		outside := r.Target.Size + 0x100
		if img.Type != elf.ET_REL {
			outside += r.Target.Addr
		}
		where := fmt.Sprintf("import site %s+%#x (%s)", r.Target.Label(), r.Offset, r.Sec.Label())
		// An object's sites are bound by its final link, not by elfpatch:
		// there a damaged site is for the linker to refuse.
		exec := img.Type != elf.ET_REL
		d = put(data, at(r), F.word, outside)
		out = append(out, mutant{name: where + ": offset outside the section", data: d, refused: exec, msg: ifExec(exec, r.Target.Label(), "outside")})
		unknown := "200" // unallocated in the Arm ELF ABI
		if img.Class == elf.ELFCLASS64 {
			d, unknown = put(data, info, 4, 0xfffe), "65534"
		} else {
			d = put(data, info, 1, 200)
		}
		out = append(out, mutant{name: where + ": unknown relocation type", data: d, refused: exec, msg: ifExec(exec, r.Target.Label(), unknown)})
	}

	// Random damage: 1 to 8 bytes, seeded by the seed's name.
	rng := rand.New(rand.NewSource(int64(len(seed.name))*7919 + int64(len(data))))
	for i := 0; i < trials; i++ {
		d := bytes.Clone(data)
		k := 1 + rng.Intn(8)
		var where []string
		for j := 0; j < k; j++ {
			off := rng.Intn(len(d))
			d[off] = byte(rng.Intn(256))
			where = append(where, fmt.Sprintf("%#x", off))
		}
		out = append(out, mutant{name: fmt.Sprintf("flip %d (bytes %s)", i, strings.Join(where, " ")), data: d})
	}
	return out
}

func ifExec(exec bool, words ...string) []string {
	if exec {
		return words
	}
	return nil
}

// malformedTrials is how many random flips each seed gets.
func malformedTrials(t *testing.T) int {
	t.Helper()
	n := 40
	if s := os.Getenv("ELFPATCH_MALFORMED_TRIALS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("ELFPATCH_MALFORMED_TRIALS=%q is not a count", s)
		}
		n = v
	}
	return n
}

// oldTime is the modification time every input gets: a run that touches
// the input without changing its bytes still shows.
var oldTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func TestMalformedInputsAreRefusedOrPatchedNeverCorrupted(t *testing.T) {
	seeds := malformedSeeds(t)
	trials := malformedTrials(t)
	for _, seed := range seeds {
		seed := seed
		t.Run(seed.name, func(t *testing.T) {
			t.Parallel()
			ms := mutants(t, seed, trials)
			failures := 0
			for _, m := range ms {
				if problems := checkMutant(t, seed, m); len(problems) > 0 {
					failures++
					if failures <= 25 {
						t.Errorf("%s: %s:\n  %s", seed.name, m.name, strings.Join(problems, "\n  "))
					}
				}
			}
			if failures > 25 {
				t.Errorf("%s: %d of %d mutants failed", seed.name, failures, len(ms))
			}
			t.Logf("%s: %d mutants, 4 commands each", seed.name, len(ms))
		})
	}
}

// The input is a directory, or missing: refused, by name.
func TestMalformedPathsAreRefusedByName(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "image.elf")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"inspect", sub}, {"verify", sub}, {sub}, {"-o", filepath.Join(dir, "out.elf"), sub}} {
		r := runElfpatch(t, nil, args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "elfpatch: "+sub+": is a directory") || panicked(r) {
			t.Errorf("elfpatch %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("refusals left files behind: %v", entries)
	}
}

// panicked reports a Go panic, a runtime crash or a stack trace in a run's
// output, and the patcher's recovered panics ("internal error").
func panicked(r elfpatchResult) bool {
	out := r.stdout + r.stderr
	for _, s := range []string{"goroutine ", "panic:", "fatal error:", "runtime error", "internal error", ".go:"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// checkMutant runs every command on m and returns what went wrong.
func checkMutant(t *testing.T, seed malformedSeed, m mutant) []string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.elf")
	out := filepath.Join(dir, "out.elf")
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	reset := func() {
		if err := os.WriteFile(in, m.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(in, oldTime, oldTime); err != nil {
			t.Fatal(err)
		}
		os.Remove(out)
	}
	untouched := func(cmd string) {
		got, err := os.ReadFile(in)
		if err != nil {
			bad("%s: the input is gone: %v", cmd, err)
			return
		}
		if !bytes.Equal(got, m.data) {
			bad("%s: the input changed", cmd)
		}
		if st, err := os.Stat(in); err == nil && !st.ModTime().Equal(oldTime) {
			bad("%s: the input's modification time changed", cmd)
		}
	}
	only := func(cmd string, names ...string) {
		entries, _ := os.ReadDir(dir)
		var have []string
		for _, e := range entries {
			have = append(have, e.Name())
		}
		if strings.Join(have, " ") != strings.Join(names, " ") {
			bad("%s: the directory holds %v, want %v", cmd, have, names)
		}
	}
	refusal := func(cmd string, r elfpatchResult) {
		if !strings.HasPrefix(r.stderr, "elfpatch: "+in+": ") {
			bad("%s: the message does not name the file first:\n%s", cmd, indent(r.stderr))
		}
		for _, w := range m.msg {
			if !strings.Contains(r.stderr, w) {
				bad("%s: the message does not say %q:\n%s", cmd, w, indent(r.stderr))
			}
		}
	}
	// run runs one command; must1 says it must exit 1.
	run := func(must1 bool, args ...string) elfpatchResult {
		r := runElfpatch(t, nil, args...)
		cmd := strings.ReplaceAll(strings.Join(args, " "), dir+string(filepath.Separator), "")
		if panicked(r) {
			bad("%s: exit %d with a crash or an internal error:\n%s", cmd, r.code, indent(r.stdout+r.stderr))
		}
		switch {
		case r.code != 0 && r.code != 1:
			bad("%s: exit %d:\n%s", cmd, r.code, indent(r.stderr))
		case must1 && r.code != 1:
			bad("%s: exit %d, want a refusal:\n%s", cmd, r.code, indent(r.stdout))
		}
		return r
	}
	withArgs := func(patch bool, args ...string) []string {
		a := append(append([]string{}, args[:len(args)-1]...), seed.args...)
		if patch {
			a = append(a, seed.patchArgs...)
		}
		return append(a, args[len(args)-1])
	}

	reset()
	r := run(m.unreadable, withArgs(false, "inspect", in)...)
	untouched("inspect")
	only("inspect", "in.elf")
	switch {
	case r.code == 1:
		refusal("inspect", r)
	case r.code == 0 && m.refused:
		// inspect reads the file and reports why a patch is refused.
		if !strings.Contains(r.stdout, "refused:") {
			bad("inspect: does not report a refusal:\n%s", indent(r.stdout))
		}
		for _, w := range m.msg {
			if !strings.Contains(r.stdout, w) {
				bad("inspect: the report does not say %q:\n%s", w, indent(r.stdout))
			}
		}
	}

	r = run(m.unreadable, withArgs(false, "verify", in)...)
	untouched("verify")
	only("verify", "in.elf")
	if r.code == 1 && !strings.HasPrefix(r.stderr, "elfpatch: "+in+": ") {
		bad("verify: the message does not name the file first:\n%s", indent(r.stderr))
	}
	if m.unreadable {
		refusal("verify", r)
	}

	r = run(m.refused, withArgs(true, "--json", "-o", out, in)...)
	untouched("patch -o")
	if r.code == 1 {
		only("patch -o", "in.elf")
		refusal("patch -o", r)
	} else if r.code == 0 {
		only("patch -o", "in.elf", "out.elf")
		checkPatched(t, seed, "patch -o", out, r, bad)
	}

	reset()
	r = run(m.refused, withArgs(true, "--json", in)...)
	only("patch in place", "in.elf")
	if r.code == 1 {
		untouched("patch in place")
		refusal("patch in place", r)
	} else if r.code == 0 {
		checkPatched(t, seed, "patch in place", in, r, bad)
	}
	return problems
}

// checkPatched checks the result of a patch that exited 0: it reads back,
// and verifies when the patch bound or re-sized anything.
func checkPatched(t *testing.T, seed malformedSeed, cmd, path string, r elfpatchResult, bad func(string, ...any)) {
	t.Helper()
	var res struct {
		Action  string `json:"action"`
		Written bool   `json:"written"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		bad("%s: the report is not JSON: %v\n%s", cmd, err, indent(r.stdout))
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		bad("%s: %v", cmd, err)
		return
	}
	if _, err := patcher.Read(path, data); err != nil {
		bad("%s: the output does not read back: %v", cmd, err)
		return
	}
	if res.Action == "bind" || res.Action == "resize" {
		v := runElfpatch(t, nil, append(append([]string{"verify"}, seed.args...), path)...)
		if v.code == 0 && res.Action == "bind" && !strings.Contains(v.stdout, "reach the allocator") {
			bad("%s: verify of the output says:\n%s", cmd, indent(v.stdout))
		}
		if v.code != 0 || panicked(v) {
			bad("%s: the output of a %s does not verify: exit %d\n%s", cmd, res.Action, v.code, indent(v.stderr))
		}
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > 1500 {
		s = s[:1500] + "..."
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// TestHugeClaimsAreRefusedUnderAMemoryLimit runs elfpatch on small files
// whose headers claim 2^32 sections (extended numbering), a 4 GiB section,
// a relocation section of a billion entries (ELF32: as many as sh_size can
// say) and a symbol table of billions of symbols, with its address space
// limited to 1 GiB (ulimit -v; the Go runtime reserves most of it): an
// allocation of what any of them claims would crash it. Each is refused by
// name.
func TestHugeClaimsAreRefusedUnderAMemoryLimit(t *testing.T) {
	requireTools(t, "sh")
	dir := t.TempDir()
	type claim struct {
		name string
		data []byte
		want string
	}
	var claims []claim
	for _, rel := range []string{"examples/cortex-m3/app.elf", "arena_blob/aarch64.o"} {
		data := readFile(t, repoPath(t, rel))
		img, err := patcher.Read(rel, data)
		if err != nil {
			t.Fatal(err)
		}
		F := fieldsOf[img.Class]
		put := func(off, v uint64) []byte {
			d := bytes.Clone(data)
			if F.word == 8 {
				binary.LittleEndian.PutUint64(d[off:], v)
			} else {
				binary.LittleEndian.PutUint32(d[off:], uint32(v))
			}
			return d
		}
		fit := func(v uint64) uint64 {
			if F.word == 4 && v > 0xfffffff0 {
				return 0xfffffff0
			}
			return v
		}
		sh := func(s *patcher.Section) uint64 { return img.Shoff + uint64(s.Index*img.Shentsize) + uint64(F.shSize) }
		d := put(sh(img.Sections[0]), 1<<32-1)
		binary.LittleEndian.PutUint16(d[F.shnum:], 0)
		claims = append(claims, claim{rel + ": 2^32-1 sections", d, "section header table: 4294967295 entries"})
		for _, s := range img.Sections {
			switch {
			case s.Type == elf.SHT_PROGBITS && s.Alloc() && s.Size > 0:
				claims = append(claims, claim{rel + ": a 4 GiB " + s.Name, put(sh(s), fit(4<<30)), s.Name + ": contents at"})
			case s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA:
				claims = append(claims, claim{rel + ": a billion relocations in " + s.Name, put(sh(s), fit(1_000_000_000*24)), s.Name + ": contents at"})
			case s.Type == elf.SHT_SYMTAB:
				claims = append(claims, claim{rel + ": billions of symbols", put(sh(s), fit(3_000_000_000*24)), s.Name + ": contents at"})
			}
		}
	}
	for i, c := range claims {
		in := filepath.Join(dir, fmt.Sprintf("claim%d.elf", i))
		if err := os.WriteFile(in, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]string{{"inspect", in}, {"verify", in}, {in}} {
			r := runCommand(t, nil, "sh", append([]string{"-c", `ulimit -v 1048576 && exec "$0" "$@"`, elfpatchPath(t)}, cmd...)...)
			if r.code != 1 || panicked(r) || !strings.HasPrefix(r.stderr, "elfpatch: "+in+": ") || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "past the end of the file") {
				t.Errorf("%s: elfpatch %s: exit %d, want 1 saying %q:\n%s", c.name, cmd[0], r.code, c.want, indent(r.stdout+r.stderr))
			}
		}
		if !bytes.Equal(readFile(t, in), c.data) {
			t.Errorf("%s: the input changed", c.name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != len(claims) {
		t.Errorf("the refusals left files behind: %d entries for %d inputs", len(entries), len(claims))
	}
}
