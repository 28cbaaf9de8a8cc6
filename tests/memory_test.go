package tests

// The cost of a patch does not grow with the image: a 256 MiB image (the
// example program with debug information, its .debug_str grown with
// filler strings) is patched, inspected and verified in at most 64 MiB of
// memory, its filler copied by the kernel, not read; on a filesystem that
// shares extents the patched copy shares the input's blocks.
//
// The peak RSS is GNU time's (%M): a process this test starts inherits
// the test binary's own high-water mark in its rusage, GNU time's child
// does not.

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pulseengine/elfpatch/internal/largeimage"
)

const (
	// largeImageSize is the size of the large image.
	largeImageSize = 256 << 20
	// maxPatchRSS is the most memory elfpatch may use on it.
	maxPatchRSS = 64 << 20
)

var (
	largeOnce  sync.Once
	largePath  string
	largeError error
)

// largeImage builds the large image once per test binary.
func largeImage(t *testing.T) string {
	t.Helper()
	requireTools(t, append(append([]string{}, largeimage.Tools...), "llvm-dwarfdump", "/usr/bin/time")...)
	largeOnce.Do(func() {
		dir := filepath.Join(sharedDir, "large")
		if largeError = os.MkdirAll(dir, 0o755); largeError != nil {
			return
		}
		largePath, largeError = buildLargeImage(t, dir)
	})
	if largeError != nil {
		t.Fatal(largeError)
	}
	return largePath
}

func buildLargeImage(t *testing.T, dir string) (string, error) {
	tp, err := largeimage.BuildTypical(repoPath(t, "."), elfpatchPath(t), dir)
	if err != nil {
		return "", err
	}
	large := filepath.Join(dir, "large.elf")
	return large, tp.Grow(large, largeImageSize)
}

// peakRSS runs elfpatch with args under GNU time and returns its exit
// status and peak RSS in bytes.
func peakRSS(t *testing.T, args ...string) (int, int64) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rss")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", out, elfpatchPath(t)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data))
	kib, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		t.Fatalf("GNU time wrote %q", data)
	}
	if code != 0 {
		t.Logf("elfpatch %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return code, kib << 10
}

// sameBytes compares two ranges of two files without reading them whole.
func sameBytes(t *testing.T, a string, aoff int64, b string, boff, n int64) bool {
	t.Helper()
	return differingBytesAt(t, a, aoff, b, boff, n) == 0
}

// differingBytes counts the bytes of a and b's first n that differ.
func differingBytes(t *testing.T, a, b string, n int64) int {
	t.Helper()
	return differingBytesAt(t, a, 0, b, 0, n)
}

// differingBytesAt counts the bytes that differ between n bytes of a at
// aoff and of b at boff (a byte one file lacks counts as differing),
// reading them a MiB at a time.
func differingBytesAt(t *testing.T, a string, aoff int64, b string, boff, n int64) int {
	t.Helper()
	fa, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	ra, rb := io.NewSectionReader(fa, aoff, n), io.NewSectionReader(fb, boff, n)
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	differ := 0
	for {
		na, ea := io.ReadFull(ra, ba)
		nb, eb := io.ReadFull(rb, bb)
		for i := 0; i < min(na, nb); i++ {
			if ba[i] != bb[i] {
				differ++
			}
		}
		differ += max(na, nb) - min(na, nb)
		if ea != nil && eb != nil {
			return differ
		}
	}
}

// debugStr is where a file's .debug_str lies.
func debugStr(t *testing.T, path string) (off, size int64) {
	t.Helper()
	out, err := exec.Command(toolReadelf, "-S", "-W", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(strings.ReplaceAll(l, "]", "] "))
		for i, w := range f {
			if w == ".debug_str" && i+4 < len(f) {
				o, _ := strconv.ParseInt(f[i+3], 16, 64)
				s, _ := strconv.ParseInt(f[i+4], 16, 64)
				return o, s
			}
		}
	}
	t.Fatalf("%s has no .debug_str", path)
	return 0, 0
}

func TestALargeImageIsPatchedInBoundedMemory(t *testing.T) {
	large := largeImage(t)
	st, err := os.Stat(large)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < largeImageSize-(1<<20) {
		t.Fatalf("the large image is only %d bytes", st.Size())
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.elf")
	inplace := filepath.Join(dir, "inplace.elf")
	if err := exec.Command("cp", large, inplace).Run(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		args []string
	}{
		{"inspect", []string{"inspect", large}},
		{"inspect --json", []string{"inspect", "--json", large}},
		{"patch -o", []string{"-o", out, large}},
		{"patch in place", []string{inplace}},
		{"verify", []string{"verify", out}},
	} {
		code, rss := peakRSS(t, c.args...)
		t.Logf("%s: peak RSS %.1f MiB", c.what, float64(rss)/(1<<20))
		if code != 0 {
			t.Fatalf("%s: exit %d", c.what, code)
		}
		if rss > maxPatchRSS {
			t.Errorf("%s of a %d MiB image: peak RSS %.1f MiB, want at most %d MiB", c.what, st.Size()>>20, float64(rss)/(1<<20), maxPatchRSS>>20)
		}
	}
	// The patch grew .debug_info (the allocator's unit): the filler after
	// it arrived, every byte.
	aoff, asize := debugStr(t, large)
	for _, p := range []string{out, inplace} {
		boff, bsize := debugStr(t, p)
		if bsize != asize || !sameBytes(t, large, aoff, p, boff, asize) {
			t.Errorf("%s: .debug_str (0x%x bytes at 0x%x) is not the input's (0x%x bytes at 0x%x)", filepath.Base(p), bsize, boff, asize, aoff)
		}
	}
	if !sameBytes(t, out, 0, inplace, 0, st.Size()+1<<20) {
		t.Error("the image patched in place differs from the one patched with -o")
	}
	// Within the input's length, next to nothing changed: the sites, the
	// slot, header fields, the old section header table's place. The
	// rest of the patch lies after the input's end.
	if n := differingBytes(t, large, out, st.Size()); n > 8<<10 {
		t.Errorf("%d bytes of the input's %d differ in the output", n, st.Size())
	} else {
		t.Logf("%d bytes of the input's %d differ in the output", n, st.Size())
	}
	// The grown debug sections went to the end, the filler stayed where it
	// was, and a debugger finds the allocator's unit and its lines.
	if boff, _ := debugStr(t, out); boff != aoff {
		t.Errorf(".debug_str moved from 0x%x to 0x%x: the grown sections were not appended", aoff, boff)
	}
	dump, err := exec.Command("llvm-dwarfdump", "--debug-line", out).CombinedOutput()
	if err != nil || !bytes.Contains(dump, []byte("arena_blob")) || !bytes.Contains(dump, []byte("thumb2.S")) {
		t.Errorf("llvm-dwarfdump --debug-line does not list the allocator's source: %v\n%.2000s", err, dump)
	}
}

// On XFS with reflink, a patched copy of the large image shares the
// input's blocks: the filesystem's used space grows by a sliver of the
// image, where a copy would double it.
func TestOnXFSAPatchedCopySharesTheInputsBlocks(t *testing.T) {
	large := largeImage(t)
	requireTools(t, "mkfs.xfs", "mount", "umount")
	dir := t.TempDir()
	img := filepath.Join(dir, "xfs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 30)
	f.Close()
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mkfs.xfs", "-q", "-m", "reflink=1", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.xfs: %v\n%s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot loop-mount an XFS image (needs root): %v\n%s", err, out)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount: %v\n%s", err, out)
		}
	})
	in := filepath.Join(mnt, "large.elf")
	if out, err := exec.Command("cp", large, in).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	used := func() int64 {
		syscall.Sync()
		var st syscall.Statfs_t
		if err := syscall.Statfs(mnt, &st); err != nil {
			t.Fatal(err)
		}
		return int64(st.Blocks-st.Bfree) * st.Bsize
	}
	before := used()
	out := filepath.Join(mnt, "out.elf")
	mustElfpatch(t, "-o", out, in)
	mustElfpatch(t, "verify", out)
	grew := used() - before
	t.Logf("the patched copy took %d KiB of new space", grew>>10)
	if grew > 4<<20 {
		t.Errorf("the patched copy of a %d MiB image took %d KiB of new space: its blocks are not shared", largeImageSize>>20, grew>>10)
	}
	// In place too: the replaced file's blocks are shared, not copied.
	again := filepath.Join(mnt, "again.elf")
	if out, err := exec.Command("cp", "--reflink=always", in, again).CombinedOutput(); err != nil {
		t.Fatalf("cp --reflink=always: %v\n%s", err, out)
	}
	before = used()
	mustElfpatch(t, again)
	mustElfpatch(t, "verify", again)
	if grew := used() - before; grew > 4<<20 {
		t.Errorf("patching a clone in place took %d KiB of new space", grew>>10)
	}
}

// A zlib-compressed .debug_info that decompresses to 256 MiB is extended
// with the allocator's unit in bounded memory: the stream is walked, not
// decompressed, and its old contents come out of the patched image
// unchanged, the unit after them.
func TestAZlibCompressedImageIsExtendedInBoundedMemory(t *testing.T) {
	large := largeImage(t)
	dir := t.TempDir()
	small := filepath.Join(filepath.Dir(large), "app.elf")
	info := filepath.Join(dir, "info.bin")
	if out, err := exec.Command("llvm-objcopy", "--dump-section", ".debug_info="+info, small).CombinedOutput(); err != nil {
		t.Fatalf("llvm-objcopy: %v\n%s", err, out)
	}
	// The image's own units, then zeros: DWARF readers stop at a unit of
	// length 0, and zeros compress to almost nothing.
	f, err := os.OpenFile(info, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for i := 0; i < largeImageSize>>20; i++ {
		f.Write(zeros)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Two steps: given both options at once, objcopy flags the updated
	// section compressed without compressing it.
	grown, in := filepath.Join(dir, "grown.elf"), filepath.Join(dir, "zlib.elf")
	for _, args := range [][]string{{"--update-section", ".debug_info=" + info, small, grown}, {"--compress-debug-sections=zlib", grown, in}} {
		if out, err := exec.Command("arm-none-eabi-objcopy", args...).CombinedOutput(); err != nil {
			t.Fatalf("arm-none-eabi-objcopy: %v\n%s", err, out)
		}
	}
	os.Remove(info)
	os.Remove(grown)
	out := filepath.Join(dir, "out.elf")
	code, rss := peakRSS(t, "-o", out, in)
	t.Logf("patch of a zlib image whose .debug_info is %d MiB: peak RSS %.1f MiB", largeImageSize>>20, float64(rss)/(1<<20))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if rss > maxPatchRSS {
		t.Errorf("peak RSS %.1f MiB, want at most %d MiB: the section was decompressed", float64(rss)/(1<<20), maxPatchRSS>>20)
	}
	mustElfpatch(t, "verify", out)
	// The old contents, streamed out of both, then the unit.
	open := func(path string) (*elf.File, *elf.Section) {
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s := f.Section(".debug_info")
		if s == nil || s.Flags&elf.SHF_COMPRESSED == 0 {
			t.Fatalf("%s: no compressed .debug_info", path)
		}
		return f, s
	}
	fa, a := open(in)
	defer fa.Close()
	fb, b := open(out)
	defer fb.Close()
	if a.Size < largeImageSize || b.Size <= a.Size {
		t.Fatalf(".debug_info decompresses to %d bytes in the input and %d in the output", a.Size, b.Size)
	}
	ra, rb := a.Open(), b.Open()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for left := a.Size; left > 0; {
		n := min(left, uint64(len(ba)))
		if _, err := io.ReadFull(ra, ba[:n]); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rb, bb[:n]); err != nil {
			t.Fatalf("the patched .debug_info: %v", err)
		}
		if !bytes.Equal(ba[:n], bb[:n]) {
			t.Fatalf("the patched .debug_info differs from the input's within its first %d bytes", a.Size)
		}
		left -= n
	}
	unit, err := io.ReadAll(rb)
	if err != nil || uint64(len(unit)) != b.Size-a.Size || !bytes.Contains(unit, []byte("arena_blob/thumb2.S")) {
		t.Errorf("after the old contents: %d bytes (%v), want the allocator's unit naming arena_blob/thumb2.S", len(unit), err)
	}
}

// The input's unchanged bytes reach the output through the kernel: seen
// with strace, elfpatch's copy_file_range calls move at least the image's
// size, and all it reads and writes itself (read, pread64, write,
// pwrite64) is a few KiB -- not the file.
func TestTheKernelCopiesTheLargeImage(t *testing.T) {
	large := largeImage(t)
	requireTools(t, "strace")
	st, err := os.Stat(large)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "strace.log")
	out := filepath.Join(dir, "out.elf")
	cmd := exec.Command("strace", "-f", "-o", log, "-e", "trace=read,pread64,write,pwrite64,copy_file_range", elfpatchPath(t), "-o", out, large)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("strace elfpatch: %v\n%s", err, b)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`(read|pread64|write|pwrite64|copy_file_range)\(.*\) += (\d+)$`)
	moved := map[string]int64{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := call.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			moved[m[1]] += n
		}
	}
	t.Logf("bytes by call: %v", moved)
	if moved["copy_file_range"] < st.Size() {
		t.Errorf("copy_file_range moved %d bytes of a %d-byte image", moved["copy_file_range"], st.Size())
	}
	if own := moved["read"] + moved["pread64"] + moved["write"] + moved["pwrite64"]; own > 64<<10 {
		t.Errorf("elfpatch read and wrote %d bytes itself", own)
	}
}
