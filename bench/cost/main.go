// Command cost measures what a patch costs, side by side with what it is
// compared to, in one run so that the ratios hold on a noisy machine:
//
//   - a large image (code plus debug sections, 256 MiB by default): elfpatch
//     with -o and in place, against cp of the same file and against
//     arm-none-eabi-objcopy rewriting it, with each one's peak RSS; and,
//     with -xfs (root, mkfs.xfs), the same on a loop-mounted XFS that
//     shares extents, against cp with and without --reflink;
//   - a typical Cortex-M image: elfpatch (the whole process) against
//     relinking the same objects plus the allocator with ld.lld and with
//     arm-none-eabi-ld;
//   - scaling: images with 1x, 10x and 100x the import sites and
//     relocations, and the exponent of elfpatch's time in their number.
//
// Run it from the repository's root:
//
//	go run ./bench/cost [-size MiB] [-runs N] [-dir DIR] [-xfs] [-sites 2000,20000,200000]
//
// It prints markdown: the machine, then one table per part, each time the
// median of -runs runs, run in turns (cp, elfpatch, cp, elfpatch, ...).
package main

import (
	"bytes"
	"debug/elf"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pulseengine/elfpatch/internal/largeimage"
)

var (
	sizeMiB = flag.Int("size", 256, "size of the large image, MiB")
	runs    = flag.Int("runs", 9, "runs of each command; the table has the median")
	dirFlag = flag.String("dir", "", "where the images are written (default: a new directory in $TMPDIR)")
	xfs     = flag.Bool("xfs", false, "also measure on a loop-mounted XFS with reflink (needs root and mkfs.xfs)")
	keep    = flag.Bool("keep", false, "keep the work directory")
	sites   = flag.String("sites", "2000,20000,200000", "import sites of the scaling images, comma-separated")
	settle  = flag.Duration("settle", 5*time.Second, "pause after syncing, before measuring")
)

func main() {
	flag.Parse()
	if _, err := os.Stat("go.mod"); err != nil {
		fatalf("run from the repository's root: go run ./bench/cost")
	}
	root, _ := os.Getwd()
	work, err := os.MkdirTemp(*dirFlag, "elfpatch-cost-")
	check(err)
	if !*keep {
		defer os.RemoveAll(work)
	}
	b := &bench{root: root, work: work}
	b.build()
	// What an earlier run (or build) left to write back slows the
	// kernel's copies for seconds: start with nothing dirty.
	syscall.Sync()
	time.Sleep(*settle)

	fmt.Printf("Machine: %s, %d CPUs, Linux %s, %s; images in %s (%s).\n\n", cpuModel(), runtime.NumCPU(), kernel(), goVersion(), filepath.Dir(work), fsType(work))

	big := b.bigImage(filepath.Join(work, "big.elf"), int64(*sizeMiB)<<20)
	b.largeTable(work, big, fmt.Sprintf("A %d MiB image on %s", *sizeMiB, fsType(work)), false)
	if *xfs {
		mnt, cleanup := mountXFS(work, int64(*sizeMiB)<<20)
		defer cleanup()
		bigX := filepath.Join(mnt, "big.elf")
		run(nil, "cp", big, bigX)
		b.largeTable(mnt, bigX, fmt.Sprintf("The same image on XFS (reflink=1, loop-mounted)"), true)
		os.Remove(bigX)
	}
	b.relinkTable()
	b.scalingTable()
}

type bench struct {
	root, work string
	elfpatch   string
	tp         *largeimage.Typical
	objs       []string // the typical image's objects
	typical    string
	ok         []string // targets met
	notMet     []string
}

func (b *bench) path(rel string) string { return filepath.Join(b.root, rel) }

// build builds elfpatch and the typical image (internal/largeimage).
func (b *bench) build() {
	b.elfpatch = filepath.Join(b.work, "elfpatch")
	run(nil, "go", "build", "-o", b.elfpatch, "./cmd/elfpatch")
	tp, err := largeimage.BuildTypical(b.root, b.elfpatch, b.work)
	check(err)
	b.tp, b.objs, b.typical = tp, tp.Objects, tp.Image
}

// link links the typical objects and extra the same way.
func (b *bench) link(out string, extra ...string) { check(b.tp.Link(out, extra...)) }

// bigImage makes the typical image size bytes large.
func (b *bench) bigImage(out string, size int64) string {
	check(b.tp.Grow(out, size))
	return out
}

// sample is one command's runs.
type sample struct {
	name  string
	times []time.Duration
	rss   int64  // KiB
	peak  func() // measures rss: one more run, under GNU time
}

func (s *sample) median() time.Duration {
	t := append([]time.Duration(nil), s.times...)
	sort.Slice(t, func(i, j int) bool { return t[i] < t[j] })
	return t[len(t)/2]
}

// measured runs one command and adds its time.
func (s *sample) measured(env []string, name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	s.times = append(s.times, time.Since(start))
	if s.peak == nil {
		s.peak = func() { s.rss = peakRSS(env, name, args...) }
	}
}

// peakRSS runs a command under GNU time and returns its peak RSS in KiB.
// Not from this process's wait4: a child Go starts inherits the parent's
// high-water mark, and GNU time's own child does not.
func peakRSS(env []string, name string, args ...string) int64 {
	f, err := os.CreateTemp("", "rss")
	check(err)
	f.Close()
	defer os.Remove(f.Name())
	run(env, "/usr/bin/time", append([]string{"-f", "%M", "-o", f.Name(), name}, args...)...)
	data, err := os.ReadFile(f.Name())
	check(err)
	var kib int64
	if _, err := fmt.Sscan(strings.TrimSpace(string(data)), &kib); err != nil {
		fatalf("GNU time wrote %q", data)
	}
	return kib
}

// largeTable measures the large image in dir.
func (b *bench) largeTable(dir, big, title string, clone bool) {
	out := filepath.Join(dir, "out.elf")
	inplace := filepath.Join(dir, "inplace.elf")
	type row struct {
		s     *sample
		setup func()
		run   func(s *sample)
	}
	rm := func() { os.Remove(out) }
	cpName := "cp"
	cpArgs := []string{big, out}
	if clone {
		cpName, cpArgs = "cp --reflink=never", []string{"--reflink=never", big, out}
	}
	existing := func() { os.Remove(out); run(nil, "cp", "--reflink=auto", big, out) }
	rows := []row{
		{&sample{name: cpName}, rm, func(s *sample) { s.measured(nil, "cp", cpArgs...) }},
		{&sample{name: cpName + " over an existing file"}, existing, func(s *sample) { s.measured(nil, "cp", cpArgs...) }},
		{&sample{name: "elfpatch -o OUT"}, rm, func(s *sample) { s.measured(nil, b.elfpatch, "-o", out, big) }},
		{&sample{name: "elfpatch in place"}, func() { os.Remove(inplace); run(nil, "cp", "--reflink=auto", big, inplace) },
			func(s *sample) { s.measured(nil, b.elfpatch, inplace) }},
	}
	if clone {
		rows = append(rows, row{&sample{name: "cp --reflink=always"}, rm, func(s *sample) { s.measured(nil, "cp", "--reflink=always", big, out) }})
	} else {
		rows = append(rows, row{&sample{name: "arm-none-eabi-objcopy IN OUT"}, rm, func(s *sample) { s.measured(nil, "arm-none-eabi-objcopy", big, out) }})
	}
	// Every command starts from the same state: the input in the page
	// cache and nothing dirty (sync), so that none pays for writing out
	// what the one before it left.
	for i := 0; i < *runs; i++ {
		for _, r := range rows {
			r.setup()
			syscall.Sync()
			r.run(r.s)
		}
	}
	for _, r := range rows {
		r.setup()
		syscall.Sync()
		r.s.peak()
	}
	// The output is a patched image that verifies, its filler intact.
	run(nil, b.elfpatch, "-o", out, big)
	run(nil, b.elfpatch, "verify", out)
	sameSection(big, out, ".debug_str")
	os.Remove(out)
	os.Remove(inplace)

	base := rows[0].s.median()
	fmt.Printf("### %s\n\n", title)
	fmt.Println("| command | time (median) | × " + cpName + " | peak RSS |")
	fmt.Println("|---|---:|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %.2f | %.1f MiB |\n", r.s.name, ms(r.s.median()), ratio(r.s.median(), base), float64(r.s.rss)/1024)
	}
	fmt.Println()
	target, what := 1.2, "≤ 1.2× cp"
	if clone {
		target, what = 0.1, "≤ 0.1× cp where the filesystem can clone"
	}
	// -o writes a new file, as cp does; in place replaces one, as cp
	// over an existing file does (both pay for the old file's blocks, and
	// ext4 starts writing out a file renamed or truncated over another).
	for _, c := range []struct{ r, cp row }{{rows[2], rows[0]}, {rows[3], rows[1]}} {
		q := ratio(c.r.s.median(), c.cp.s.median())
		b.verdict(fmt.Sprintf("%s on %s: %s (against %s)", c.r.s.name, fsType(dir), what, c.cp.s.name), q <= target, fmt.Sprintf("%.2f×", q))
		b.verdict(fmt.Sprintf("%s on %s: peak RSS ≤ 64 MiB", c.r.s.name, fsType(dir)), c.r.s.rss <= 64<<10, fmt.Sprintf("%.1f MiB", float64(c.r.s.rss)/1024))
	}
	fmt.Println()
}

// relinkTable: patching the typical image against relinking it with the
// allocator, with each linker called directly.
func (b *bench) relinkTable() {
	reserve := filepath.Join(b.work, "reserve.o")
	run(nil, b.elfpatch, "reserve-object", "--like", b.objs[2], "--arena-size", "64K", "-o", reserve)
	alias := filepath.Join(b.work, "alias.ld")
	check(os.WriteFile(alias, []byte("\"cabi-arena-realloc\" = __cabi_arena_realloc;\n"), 0o644))
	linkArgs := func(out string) []string {
		a := []string{"-T", b.path("linkerscripts/arena.ld"), "-T", b.path("tests/cortexm/mps2.ld"), alias, "--gc-sections", "--no-warn-rwx-segments"}
		a = append(a, b.objs...)
		return append(a, reserve, b.path("arena_blob/thumb2.o"), "-o", out)
	}
	out := filepath.Join(b.work, "typical-out.elf")
	rows := []*sample{{name: "elfpatch -o OUT (the whole process)"}, {name: "relink: ld.lld"}, {name: "relink: arm-none-eabi-ld"}, {name: "relink: arm-none-eabi-gcc driving ld, as a build runs it"}}
	gccArgs := []string{"-mcpu=cortex-m3", "-mthumb", "-nostdlib", "-T", b.path("linkerscripts/arena.ld"), "-T", b.path("tests/cortexm/mps2.ld"), "-Wl,-T," + alias, "-Wl,--gc-sections", "-Wl,--no-warn-rwx-segments"}
	gccArgs = append(append(gccArgs, b.objs...), reserve, b.path("arena_blob/thumb2.o"), "-o", out)
	lldArgs := linkArgs(out)
	for i, a := range lldArgs {
		if a == "--no-warn-rwx-segments" {
			lldArgs = append(lldArgs[:i:i], lldArgs[i+1:]...)
			break
		}
	}
	for i := 0; i < 3**runs; i++ {
		os.Remove(out)
		rows[0].measured(nil, b.elfpatch, "-o", out, b.typical)
		os.Remove(out)
		rows[1].measured(nil, "ld.lld", lldArgs...)
		os.Remove(out)
		rows[2].measured(nil, "arm-none-eabi-ld", linkArgs(out)...)
		os.Remove(out)
		rows[3].measured(nil, "arm-none-eabi-gcc", gccArgs...)
	}
	st, err := os.Stat(b.typical)
	check(err)
	fmt.Printf("### A typical Cortex-M image (%d KiB with debug information)\n\n", st.Size()>>10)
	fmt.Println("| command | time (median) | × elfpatch |")
	fmt.Println("|---|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %.2f |\n", r.name, ms(r.median()), ratio(r.median(), rows[0].median()))
	}
	fmt.Println()
	b.verdict("elfpatch faster than relinking with ld.lld", rows[0].median() < rows[1].median(), ms(rows[0].median())+" vs "+ms(rows[1].median()))
	b.verdict("elfpatch faster than relinking with arm-none-eabi-ld", rows[0].median() < rows[2].median(), ms(rows[0].median())+" vs "+ms(rows[2].median()))
	fmt.Println()
}

// scalingTable: images with n, 10n and 100n import sites, as many
// relocations to another function, and the exponent of the time.
func (b *bench) scalingTable() {
	type point struct {
		sites, relocs int
		size          int64
		s             *sample
	}
	var pts []*point
	var counts []int
	for _, f := range strings.Split(*sites, ",") {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil || n <= 0 {
			fatalf("-sites: %q is not a count", f)
		}
		counts = append(counts, n)
	}
	for _, n := range counts {
		src := filepath.Join(b.work, fmt.Sprintf("sites%d.s", n))
		var asm strings.Builder
		asm.WriteString(".syntax unified\n.thumb\n.section .text.sites,\"axR\",%progbits\n.global sites\n.type sites, %function\n.thumb_func\nsites:\n")
		for i := 0; i < n; i++ {
			asm.WriteString("bl __cabi_arena_realloc\nbl other\n")
		}
		asm.WriteString("bx lr\n.thumb_func\nother:\nbx lr\n")
		check(os.WriteFile(src, []byte(asm.String()), 0o644))
		obj := strings.TrimSuffix(src, ".s") + ".o"
		run(nil, "arm-none-eabi-as", "-mcpu=cortex-m3", src, "-o", obj)
		img := strings.TrimSuffix(src, ".s") + ".elf"
		b.link(img, obj)
		f, err := elf.Open(img)
		check(err)
		relocs := 0
		for _, s := range f.Sections {
			if s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA {
				relocs += int(s.Size / s.Entsize)
			}
		}
		f.Close()
		st, err := os.Stat(img)
		check(err)
		pts = append(pts, &point{sites: n, relocs: relocs, size: st.Size(), s: &sample{}})
	}
	out := filepath.Join(b.work, "scaled-out.elf")
	for i := 0; i < *runs; i++ {
		for _, p := range pts {
			os.Remove(out)
			p.s.measured(nil, b.elfpatch, "-o", out, filepath.Join(b.work, fmt.Sprintf("sites%d.elf", p.sites)))
		}
	}
	for _, p := range pts {
		os.Remove(out)
		p.s.peak()
	}
	fmt.Println("### Scaling with the number of relocations")
	fmt.Println()
	fmt.Println("| import sites | relocations | image | elfpatch -o OUT (median) | peak RSS |")
	fmt.Println("|---:|---:|---:|---:|---:|")
	for _, p := range pts {
		fmt.Printf("| %d | %d | %d KiB | %s | %.1f MiB |\n", p.sites, p.relocs, p.size>>10, ms(p.s.median()), float64(p.s.rss)/1024)
	}
	first, last := pts[0], pts[len(pts)-1]
	k := math.Log(float64(last.s.median())/float64(first.s.median())) / math.Log(float64(last.relocs)/float64(first.relocs))
	fmt.Printf("\nTime grows as relocations^%.2f from %d to %d relocations (a fixed cost of starting the process included).\n\n", k, first.relocs, last.relocs)
	b.verdict("time at most linear in the relocations (exponent ≤ 1)", k <= 1.0, fmt.Sprintf("%.2f", k))
	fmt.Println()
	fmt.Println("### Targets")
	fmt.Println()
	for _, l := range b.ok {
		fmt.Println("- met: " + l)
	}
	for _, l := range b.notMet {
		fmt.Println("- NOT met: " + l)
	}
}

func (b *bench) verdict(what string, met bool, value string) {
	if met {
		b.ok = append(b.ok, what+" ("+value+")")
	} else {
		b.notMet = append(b.notMet, what+" ("+value+")")
	}
}

// sameSection checks that a section's contents did not change.
func sameSection(a, b, name string) {
	fa, err := elf.Open(a)
	check(err)
	defer fa.Close()
	fb, err := elf.Open(b)
	check(err)
	defer fb.Close()
	da, err := fa.Section(name).Data()
	check(err)
	db, err := fb.Section(name).Data()
	check(err)
	if !bytes.Equal(da, db) {
		fatalf("%s of the patched image differs from the input's", name)
	}
}

// mountXFS makes a loop-mounted XFS with reflink, large enough for two
// copies of the image, in dir.
func mountXFS(dir string, size int64) (string, func()) {
	img := filepath.Join(dir, "xfs.img")
	mnt := filepath.Join(dir, "xfs")
	check(os.MkdirAll(mnt, 0o755))
	f, err := os.Create(img)
	check(err)
	check(f.Truncate(4*size + 512<<20))
	check(f.Close())
	run(nil, "mkfs.xfs", "-q", "-m", "reflink=1", img)
	run(nil, "mount", "-o", "loop", img, mnt)
	return mnt, func() {
		exec.Command("umount", mnt).Run()
		os.Remove(img)
	}
}

func run(env []string, name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.Index(l, ":"); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return "?"
	}
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func goVersion() string { return runtime.Version() }

// fsType names the filesystem dir is on.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return "?"
	}
	switch st.Type {
	case 0xEF53:
		return "ext4"
	case 0x58465342:
		return "XFS"
	case 0x9123683E:
		return "Btrfs"
	case 0x01021994:
		return "tmpfs"
	case 0x794c7630:
		return "overlayfs"
	}
	return fmt.Sprintf("filesystem 0x%x", st.Type)
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cost: "+format+"\n", args...)
	os.Exit(1)
}
