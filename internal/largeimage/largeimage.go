// Package largeimage builds the images the cost of a patch is measured
// on (bench/cost) and bounded by (tests/memory_test.go): the example
// program with debug information, linked through elfpatch-ld with the
// import unbound and 64 KiB reserved for the arena, and the same image
// grown to a given size by filler strings in its .debug_str, as a large
// program's debug information is mostly strings and entries.
package largeimage

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Tools are what Build runs.
var Tools = []string{"arm-none-eabi-gcc", "arm-none-eabi-objcopy", "llvm-objcopy"}

// Typical is the example program, compiled with -g into dir.
type Typical struct {
	Objects []string // its objects, as compiled
	Image   string   // linked, the import unbound
	root    string
	ld      []string // elfpatch-ld and the driver's options, before the objects
	env     []string
}

// BuildTypical compiles the example program (tests/cortexm's startup and
// semihosting, examples/cortex-m3/main.c) with debug information and
// links it with elfpatch, the binary, through root's elfpatch-ld.
func BuildTypical(root, elfpatch, dir string) (*Typical, error) {
	in := func(rel string) string { return filepath.Join(root, rel) }
	cflags := []string{"-mcpu=cortex-m3", "-mthumb", "-O2", "-g", "-ffreestanding", "-nostdlib",
		"-ffunction-sections", "-fdata-sections", "-Wa,--noexecstack", "-I" + in("tests/cortexm"), "-I" + in("tests/common")}
	tp := &Typical{root: root,
		ld:  []string{in("linkerscripts/elfpatch-ld"), "arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb", "-nostdlib", "-T", in("tests/cortexm/mps2.ld")},
		env: []string{"ELFPATCH=" + elfpatch, "ELFPATCH_PATCH=0", "ELFPATCH_ARENA_SIZE=64K"}}
	for _, src := range []string{"tests/cortexm/startup.c", "tests/cortexm/semihost.c", "examples/cortex-m3/main.c"} {
		obj := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c")+".o")
		if err := run(nil, "arm-none-eabi-gcc", append(append([]string{}, cflags...), "-c", in(src), "-o", obj)...); err != nil {
			return nil, err
		}
		tp.Objects = append(tp.Objects, obj)
	}
	tp.Image = filepath.Join(dir, "app.elf")
	if err := tp.Link(tp.Image, "-Wl,--gc-sections"); err != nil {
		return nil, err
	}
	return tp, nil
}

// Link links the program's objects and extra (more objects, options)
// into out the same way.
func (tp *Typical) Link(out string, extra ...string) error {
	args := append(append(append([]string{}, tp.ld[1:]...), tp.Objects...), extra...)
	return run(tp.env, tp.ld[0], append(args, "-o", out)...)
}

// Grow writes to out the typical image with its .debug_str grown by
// filler strings so that the file is about size bytes.
func (tp *Typical) Grow(out string, size int64) error {
	strs := out + ".debug_str"
	defer os.Remove(strs)
	if err := run(nil, "llvm-objcopy", "--dump-section", ".debug_str="+strs, tp.Image); err != nil {
		return err
	}
	orig, err := os.ReadFile(strs)
	if err != nil {
		return err
	}
	st, err := os.Stat(tp.Image)
	if err != nil {
		return err
	}
	f, err := os.Create(strs)
	if err != nil {
		return err
	}
	f.Write(orig)
	line := []byte("a filler string of the kind a large program's debug information holds, 0123456789\x00")
	chunk := bytes.Repeat(line, 4096)
	for n := (size - st.Size() - int64(len(orig))) / int64(len(line)); n > 0; n -= 4096 {
		if _, err := f.Write(chunk[:min(n, 4096)*int64(len(line))]); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return run(nil, "arm-none-eabi-objcopy", "--update-section", ".debug_str="+strs, tp.Image, out)
}

func run(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
