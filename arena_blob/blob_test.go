package arenablob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestEmbeddedObjectsMatchRecordedHashes(t *testing.T) {
	for _, v := range Variants() {
		sum := sha256.Sum256(v.Object)
		if got := hex.EncodeToString(sum[:]); got != v.SHA256 {
			t.Errorf("%s: embedded object hashes to %s, recorded %s", v.Name, got, v.SHA256)
		}
	}
}

// The objects must be reproducible from their sources: rebuild them with the
// pinned assembler and compare byte for byte.  CI installs the assembler; a
// developer machine without it skips (with CI=true a missing tool fails).
func TestRebuildReproducesEmbeddedObjects(t *testing.T) {
	if _, err := exec.LookPath("arm-none-eabi-as"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("arm-none-eabi-as is not installed: %v", err)
		}
		t.Skip("arm-none-eabi-as is not installed")
	}
	out := t.TempDir()
	cmd := exec.Command("./build.sh", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, msg)
	}
	for _, v := range Variants() {
		name := v.Name + ".o"
		rebuilt, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rebuilt, v.Object) {
			t.Errorf("%s: rebuilt object differs from the embedded one", name)
		}
	}
}

func TestObjectsNameNoPath(t *testing.T) {
	for _, v := range Variants() {
		for _, bad := range []string{"/home/", "/tmp/", "/work/", "/usr/", ".S"} {
			if bytes.Contains(v.Object, []byte(bad)) {
				t.Errorf("%s: object contains %q", v.Name, bad)
			}
		}
	}
}
