package relocs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pulseengine/elfpatch/internal/testtool"
)

// The fixtures are only as good as their link to the tools: regenerate
// them with the assemblers and linkers that made them and compare.
func TestFixturesAreWhatTheToolsMake(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		tools []string
	}{
		{"arm", []string{"arm-none-eabi-as", "arm-none-eabi-ld", "arm-none-eabi-objcopy", "arm-none-eabi-objdump", "arm-none-eabi-readelf", "clang", "ld.lld"}},
		{"riscv", []string{"riscv64-unknown-elf-as", "riscv64-unknown-elf-ld", "riscv64-unknown-elf-objcopy", "riscv64-unknown-elf-objdump", "riscv64-unknown-elf-readelf", "clang", "ld.lld"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			testtool.Require(t, tc.tools...)
			out := filepath.Join(t.TempDir(), "sites.txt")
			cmd := exec.Command("./gen.sh", out)
			cmd.Dir = filepath.Join("testdata", tc.dir)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("gen.sh: %v\n%s", err, msg)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", tc.dir, "sites.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("testdata/%s/sites.txt differs from what gen.sh makes now; regenerate it and review the difference", tc.dir)
			}
		})
	}
}

// The AArch64 and x86-64 fixtures, regenerated the same way: each from its
// own test, so that a missing cross toolchain skips only its own.
func TestAArch64FixturesAreWhatTheToolsMake(t *testing.T) {
	fixturesMatchGenSh(t, "aarch64", "aarch64-linux-gnu-as", "aarch64-linux-gnu-ld",
		"aarch64-linux-gnu-objcopy", "aarch64-linux-gnu-objdump", "aarch64-linux-gnu-readelf", "clang", "ld.lld")
}

func TestX86_64FixturesAreWhatTheToolsMake(t *testing.T) {
	fixturesMatchGenSh(t, "x86_64", "as", "ld", "objcopy", "objdump", "readelf", "clang", "ld.lld")
}

// fixturesMatchGenSh runs testdata/DIR/gen.sh and compares what it writes
// with the sites.txt there. A missing tool skips the test, or fails it
// when CI=true.
func fixturesMatchGenSh(t *testing.T, dir string, tools ...string) {
	t.Helper()
	testtool.Require(t, tools...)
	out := filepath.Join(t.TempDir(), "sites.txt")
	cmd := exec.Command("./gen.sh", out)
	cmd.Dir = filepath.Join("testdata", dir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", dir, "sites.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("testdata/%s/sites.txt differs from what gen.sh makes now; regenerate it and review the difference", dir)
	}
}
