package relocs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The fixtures are only as good as their link to the tools: regenerate
// them with the assemblers and linkers that made them and compare.
func TestFixturesAreWhatTheToolsMake(t *testing.T) {
	for _, tool := range []string{"arm-none-eabi-as", "arm-none-eabi-ld", "arm-none-eabi-objcopy", "arm-none-eabi-objdump", "arm-none-eabi-readelf", "clang", "ld.lld"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	out := filepath.Join(t.TempDir(), "sites.txt")
	cmd := exec.Command("./gen.sh", out)
	cmd.Dir = filepath.Join("testdata", "arm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "arm", "sites.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("testdata/arm/sites.txt differs from what gen.sh makes now; regenerate it and review the difference")
	}
}
