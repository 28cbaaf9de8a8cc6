package tests

// Crash safety: a patch killed at any moment, or one that runs out of disk,
// leaves every file it was asked to write either as it was (absent, or its
// old bytes) or fully patched, never a mixture, and a failure says so by
// the file's name.

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAKilledPatchLeavesEveryTargetOldOrNew kills patches at random moments
// (seeded), in place, to an -o OUT that did not exist, and to an -o OUT
// that held another file: the target is each time what it was or the
// patched image, and the input of an -o patch never changes.
func TestAKilledPatchLeavesEveryTargetOldOrNew(t *testing.T) {
	requireTools(t, toolGCC, toolLD)
	linked := linkOnly(t, gccCompiler, "arm-none-eabi-ld", "16K", programOptions{})
	orig := readFile(t, linked)
	full := filepath.Join(t.TempDir(), "full.elf")
	mustElfpatch(t, "-o", full, linked)
	patched := readFile(t, full)
	oldOut := []byte("the previous build's image, which a killed patch must not damage\n")

	// How long a whole patch takes here (the median of seven), so that
	// the kills land anywhere from before the file is read to well after
	// it is renamed.
	var took []time.Duration
	for i := 0; i < 7; i++ {
		dir := t.TempDir()
		in := filepath.Join(dir, "app.elf")
		if err := os.WriteFile(in, orig, 0o755); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := exec.Command(elfpatchPath(t), in).Run(); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	window := int(took[3].Microseconds()) * 3

	rng := rand.New(rand.NewSource(20240611))
	for _, mode := range []string{"in place", "-o absent", "-o existing"} {
		t.Run(strings.ReplaceAll(mode, " ", "_"), func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "app.elf")
			out := filepath.Join(dir, "out.elf")
			target, before := in, orig
			args := []string{in}
			switch mode {
			case "-o absent":
				target, before, args = out, nil, []string{"-o", out, in}
			case "-o existing":
				target, before, args = out, oldOut, []string{"-o", out, in}
			}
			var old, new, leftovers int
			for i := 0; i < 80; i++ {
				if err := os.WriteFile(in, orig, 0o755); err != nil {
					t.Fatal(err)
				}
				os.Remove(out)
				if mode == "-o existing" {
					if err := os.WriteFile(out, oldOut, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				// Remove what earlier kills left, to count each trial's own.
				tmps, _ := filepath.Glob(filepath.Join(dir, ".*.elfpatch-*"))
				for _, p := range tmps {
					os.Remove(p)
				}
				cmd := exec.Command(elfpatchPath(t), args...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(rng.Intn(window)) * time.Microsecond)
				cmd.Process.Kill()
				cmd.Wait()
				got, err := os.ReadFile(target)
				switch {
				case before == nil && os.IsNotExist(err):
					old++
				case err != nil:
					t.Fatalf("trial %d: %v", i, err)
				case bytes.Equal(got, before):
					old++
				case bytes.Equal(got, patched):
					new++
				default:
					t.Fatalf("trial %d: %s is neither what it was nor the patched image (%d bytes)", i, filepath.Base(target), len(got))
				}
				if target != in && !bytes.Equal(readFile(t, in), orig) {
					t.Fatalf("trial %d: the input of an -o patch changed", i)
				}
				if tmps, _ := filepath.Glob(filepath.Join(dir, ".*.elfpatch-*")); len(tmps) > 0 {
					leftovers++
				}
			}
			// A kill between creating the temporary file and renaming it
			// leaves it (no process survives to remove it); it is hidden,
			// beside the target, and never mistaken for it.
			t.Logf("%s: %d kills left the target as it was, %d the patched image; %d left a temporary file (kills within %d µs)", mode, old, new, leftovers, window)
			// The kills spanned the patch: some came before its rename,
			// some after.
			if old == 0 || new == 0 {
				t.Errorf("%s: %d kills before the rename and %d after: the kills did not span the patch", mode, old, new)
			}
		})
	}
}

// TestAFullDiskFailsTheWriteByNameAndLeavesNothing patches on a tmpfs with
// less room left than the output needs: the write fails with a message
// naming the file, the input is intact, and no temporary file stays.
func TestAFullDiskFailsTheWriteByNameAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	// 64 KiB, then filled with a file up to one page less than the
	// output: the input fits, its patched copy does not.
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0755"); err != nil {
		msg := "cannot mount a tmpfs to fill (needs root): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	orig := readFile(t, repoPath(t, "examples/cortex-m3/app.elf"))
	in := filepath.Join(dir, "app.elf")
	if err := os.WriteFile(in, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	fill := free - 4096
	if fill < 0 || int64(len(orig)) < 4096 {
		t.Fatalf("the tmpfs has %d bytes free for a %d-byte image", free, len(orig))
	}
	if err := os.WriteFile(filepath.Join(dir, "filler"), make([]byte, fill), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(in, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.elf")
	for _, c := range []struct {
		name   string
		args   []string
		target string
	}{
		{"in place", []string{"--arena-size", "16K", in}, in},
		{"-o OUT", []string{"--arena-size", "16K", "-o", out, in}, out},
	} {
		r := runElfpatch(t, nil, c.args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "elfpatch: "+c.target+": ") || !strings.Contains(r.stderr, "no space left on device") || panicked(r) {
			t.Errorf("%s on a full disk: exit %d, want 1 naming %s and the full disk:\n%s%s", c.name, r.code, c.target, r.stdout, r.stderr)
		}
		if !bytes.Equal(readFile(t, in), orig) {
			t.Errorf("%s on a full disk: the input changed", c.name)
		}
		if st, err := os.Stat(in); err != nil || !st.ModTime().Equal(mtime) {
			t.Errorf("%s on a full disk: the input's modification time changed", c.name)
		}
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if strings.Join(names, " ") != "app.elf filler" {
			t.Errorf("%s on a full disk left %v", c.name, names)
		}
	}
	// With room again, the same patch succeeds: nothing was left in the way.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	mustElfpatch(t, "--arena-size", "16K", "-o", out, in)
	mustElfpatch(t, "verify", out)
}
