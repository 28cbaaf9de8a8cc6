package linkwrap

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

func TestOutputPathFindsEveryOutputOptionForm(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"a.o", "-o", "app.elf"}, "app.elf"},
		{[]string{"-oapp.elf", "a.o"}, "app.elf"},
		{[]string{"--output=app.elf", "a.o"}, "app.elf"},
		{[]string{"--output", "app.elf", "a.o"}, "app.elf"},
		{[]string{"a.o", "-o", "dir with space/app.elf"}, "dir with space/app.elf"},
		{[]string{"a.o"}, "a.out"},
		{[]string{"-o", "first.elf", "-o", "last.elf"}, "last.elf"},
	} {
		if got := outputPath(c.args); got != c.want {
			t.Errorf("outputPath(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}

func TestClassifyTellsLinkersFromDrivers(t *testing.T) {
	for name, want := range map[string]kind{
		"arm-none-eabi-ld": gnuLD, "/usr/bin/ld": gnuLD, "ld.bfd": gnuLD, "arm-none-eabi-ld.bfd": gnuLD,
		"ld.lld": lld, "ld.lld-14": lld,
		"arm-none-eabi-gcc": driver, "clang": driver, "clang-14": driver, "/opt/x/bin/arm-none-eabi-g++": driver, "cc": driver,
	} {
		if got, err := classify(name); err != nil || got != want {
			t.Errorf("classify(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := classify("make"); err == nil {
		t.Error("classify(make) succeeded")
	}
}

func TestPartialLinksAreRecognised(t *testing.T) {
	for _, args := range [][]string{{"-r", "a.o"}, {"--relocatable"}, {"-Wl,-r", "a.o"}, {"-Wl,--gc-sections,-r"}} {
		if !partialLink(args) {
			t.Errorf("partialLink(%q) = false", args)
		}
	}
	if partialLink([]string{"-rpath", "x", "-Wl,-rpath,x"}) {
		t.Error("-rpath taken for a partial link")
	}
}

func TestTargetComesFromTheFirstObjectOrArchiveMember(t *testing.T) {
	dir := t.TempDir()
	obj := minimalObject(elf.EM_ARM, 0x05000400)
	if err := os.WriteFile(filepath.Join(dir, "a.o"), obj, 0o644); err != nil {
		t.Fatal(err)
	}
	ar := []byte("!<arch>\n")
	hdr := []byte("a.o/            0           0     0     644     ")
	size := []byte("52        `\n")
	ar = append(append(append(ar, hdr...), size...), obj...)
	if err := os.WriteFile(filepath.Join(dir, "liba.a"), ar, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-T", filepath.Join(dir, "missing.ld"), filepath.Join(dir, "a.o")},
		{filepath.Join(dir, "liba.a")},
	} {
		got, err := detectTarget("ld.lld", args)
		if err != nil || got.machine != elf.EM_ARM || got.flags != 0x05000400 {
			t.Errorf("detectTarget(%q) = %+v, %v", args, got, err)
		}
	}
	if got, err := detectTarget("clang", []string{"--target=thumbv7m-none-eabi", "main.c"}); err != nil || got.machine != elf.EM_ARM {
		t.Errorf("from --target: %+v, %v", got, err)
	}
	if _, err := detectTarget("ld.lld", []string{"missing.o"}); err == nil {
		t.Error("a target was found in no input at all")
	}
}

// minimalObject is an ELF32 little-endian ET_REL header with no sections.
func minimalObject(m elf.Machine, flags uint32) []byte {
	b := make([]byte, 52)
	copy(b, elf.ELFMAG)
	b[4], b[5], b[6] = byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le := func(off int, v uint32, n int) {
		for i := 0; i < n; i++ {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	le(16, uint32(elf.ET_REL), 2)
	le(18, uint32(m), 2)
	le(20, 1, 4)
	le(36, flags, 4)
	le(40, 52, 2)
	le(46, 40, 2)
	return b
}
