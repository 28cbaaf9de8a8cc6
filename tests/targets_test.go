package tests

// The targets the contract program runs on: one description each of how to
// compile, link and run it. Memory maps, run commands and the relocation
// types each compiler's objects use against the import are documented here
// and checked by harness_selftest_test.go.
//
//	target    ISA                      runs on                                        platform
//	m3        Thumb-2 (ARMv7-M)        qemu-system-arm -M mps2-an385, semihosting     cortexm/
//	m0        Thumb-1 (ARMv6-M)        qemu-system-arm -M microbit, semihosting       cortexm/
//	m33       Thumb-2 (ARMv8-M Main.)  qemu-system-arm -M mps2-an505, semihosting     cortexm/
//	r5        A32 (ARMv7-R)            qemu-arm -cpu cortex-r5, Linux user mode       linux/
//	rv32imac  RV32IMAC                 qemu-system-riscv32 -M virt, semihosting       rv32/
//	rv32ima   RV32IMA (no C)           qemu-system-riscv32 -M virt, semihosting       rv32/
//	aarch64   A64                      qemu-aarch64, Linux user mode                  linux/
//	x86_64    x86-64                   natively (linux/amd64 hosts only)              linux/

import (
	"path/filepath"
	"testing"
)

// target describes one platform the contract program runs on.
type target struct {
	Name string // "m3", "m0", "m33", "r5", "rv32imac", "rv32ima", "aarch64", "x86_64"
	// Family is the architecture family ("arm", "riscv", "aarch64",
	// "x86_64"); the self-test catches refalloc.c's bugs on at least one
	// target of each.
	Family    string
	Dir       string // directory in tests/ with the target's linker scripts
	Platform  string // directory in tests/ with its platform layer: "cortexm", "rv32", "linux"
	Compilers []compiler
	Shapes    []linkShape
	// Scripts are the linker scripts the target links with: file names in
	// Dir, and scriptDefault for the linker's default script.
	Scripts []string
	Run     runSpec
	// Trap is the word a trap's report starts with: "HARDFAULT" on
	// M-profile, "TRAP" elsewhere (exit status exitTrap either way).
	Trap string
	// ArenaSize is the arena size the self-test uses on the target; it fits
	// the memory map next to the program (the m0's RAM is 16 KiB).
	ArenaSize uint32
	// MinArena is the smallest SIZE "contract SIZE" accepts.
	MinArena uint32
	// LinearMemory is the size of a pointer-base build's linear memory
	// (programOptions.PointerBase): the st_size of __linear_memory_base,
	// which common/linmem.S defines at the start of .data. On the
	// bare-metal targets .data is the first thing in RAM and the linear
	// memory is the RAM (on m3 the 2 MiB that mps2-far.ld has as RAM, the
	// lower half of mps2.ld's 4 MiB, below its stack); on the Linux
	// targets it is 1 MiB from the start of .data, which covers .data, the
	// arena, .bss and .noinit (the rest is not mapped).
	LinearMemory uint32
	// Reset tells whether the reset mode works: a warm reset that keeps
	// RAM and runs the startup code again.
	Reset bool
	// Relocs lists, per compiler Name, the relocation types the program's
	// objects use against the import, each under both spellings; a type
	// listed n times occurs at least n times (two forms that share a type).
	Relocs map[string][]string
}

// The m3 target's compilers (the names of the first harness).
var (
	gccCompiler   = compiler{Name: "gcc", Tool: toolGCC, Flags: []string{"-mcpu=cortex-m3", "-mthumb", "-Wa,--noexecstack"}, Target: "m3"}
	clangCompiler = compiler{Name: "clang", Tool: toolClang, Flags: []string{"--target=thumbv7m-none-eabi", "-mcpu=cortex-m3", "-mthumb", "-Wa,--noexecstack"}, Target: "m3"}
	compilers     = []compiler{gccCompiler, clangCompiler}
)

// linkShapes are the m3 target's four link command shapes:
//
//	arm-none-eabi-ld -T SCRIPT OBJS... LINKERARGS... -o OUT
//	ld.lld -T SCRIPT OBJS... LINKERARGS... -o OUT
//	arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -nostdlib -T SCRIPT OBJS... -Xlinker ARG... -o OUT
//	clang --target=thumbv7m-none-eabi -mcpu=cortex-m3 -fuse-ld=lld -nostdlib -T SCRIPT OBJS... -Xlinker ARG... -o OUT
var linkShapes = []linkShape{
	{Name: "arm-none-eabi-ld", Tool: toolLD, Args: directLinkArgs},
	{Name: "ld.lld", Tool: toolLLD, Args: directLinkArgs},
	{Name: "arm-none-eabi-gcc", Tool: toolGCC, Args: driverLinkArgs([]string{"-mcpu=cortex-m3", "-mthumb"})},
	{Name: "clang", Tool: toolClang, Args: driverLinkArgs([]string{"--target=thumbv7m-none-eabi", "-mcpu=cortex-m3", "-fuse-ld=lld"})},
}

// armDirect are the direct Arm linker shapes: arm-none-eabi-ld and ld.lld.
var armDirect = []linkShape{
	{Name: "arm-none-eabi-ld", Tool: toolLD, Args: directLinkArgs},
	{Name: "ld.lld", Tool: toolLLD, Args: directLinkArgs},
}

// Relocation types, as the compilers (arm-none-eabi-gcc 12.2,
// riscv64-unknown-elf-gcc 12.2, gcc 12.2, clang 14) emit them against the
// import at the harness's flags. Thumb-2 gcc builds the address of a
// function with a literal pool (R_ARM_ABS32) and clang with MOVW/MOVT;
// the inline assembly of isa.h adds MOVW/MOVT for gcc.
var (
	relocsThumb2 = []string{"R_ARM_THM_CALL", "R_ARM_THM_JUMP24", "R_ARM_ABS32",
		"R_ARM_THM_MOVW_ABS_NC", "R_ARM_THM_MOVT_ABS", "R_ARM_REL32"}
	// ARMv6-M: no B.W, so no sibling calls (BL, then POP); no MOVW/MOVT,
	// so every address comes from a literal pool.
	relocsThumb1 = []string{"R_ARM_THM_CALL", "R_ARM_ABS32", "R_ARM_REL32"}
	// A32: BL and a B sibling call, A32 MOVW/MOVT.
	relocsA32 = []string{"R_ARM_CALL", "R_ARM_JUMP24", "R_ARM_ABS32",
		"R_ARM_MOVW_ABS_NC", "R_ARM_MOVT_ABS", "R_ARM_REL32"}
	// RISC-V: call/tail are AUIPC+JALR pairs, which gcc 12 (GNU as 2.40)
	// marks R_RISCV_CALL_PLT and clang 14 R_RISCV_CALL; lui/addi from both
	// compilers and isa.h, auipc/addi from isa.h (the R_RISCV_PCREL_LO12_I
	// of the addi refers to the auipc's label, not to the import). Both
	// assemblers write ".4byte import - ." as R_RISCV_ADD32 against the
	// import plus R_RISCV_SUB32 against a local label, never as
	// R_RISCV_32_PCREL, relaxation or not.
	relocsRISCVCommon = []string{"R_RISCV_32", "R_RISCV_HI20", "R_RISCV_HI20", "R_RISCV_LO12_I", "R_RISCV_LO12_I",
		"R_RISCV_PCREL_HI20", "R_RISCV_ADD32"}
	// AArch64: bl/b, adrp/add from clang and isa.h, movz/movk from isa.h.
	relocsAArch64 = []string{"R_AARCH64_CALL26", "R_AARCH64_JUMP26", "R_AARCH64_ABS64",
		"R_AARCH64_ADR_PREL_PG_HI21", "R_AARCH64_ADR_PREL_PG_HI21",
		"R_AARCH64_ADD_ABS_LO12_NC", "R_AARCH64_ADD_ABS_LO12_NC",
		"R_AARCH64_MOVW_UABS_G1", "R_AARCH64_MOVW_UABS_G0_NC", "R_AARCH64_PREL32"}
	// x86-64 (-fno-pic): call/jmp are R_X86_64_PLT32 (GNU as and clang
	// alike, even without a PLT), the address the compiler stores to
	// memory ("movq $import, mem") R_X86_64_32S, the .data pointer and
	// movabs R_X86_64_64, lea and the PC-relative word R_X86_64_PC32.
	relocsX86_64 = []string{"R_X86_64_PLT32", "R_X86_64_64", "R_X86_64_64", "R_X86_64_32S",
		"R_X86_64_PC32", "R_X86_64_PC32"}
)

var targetM3 = &target{
	Name: "m3", Family: "arm", Dir: "cortexm", Platform: "cortexm",
	Compilers: compilers,
	Shapes:    linkShapes,
	Scripts:   []string{scriptMPS2, scriptMPS2Far},
	Run:       runSpec{Kind: runSemihosting, Tool: toolQEMU, Args: []string{"-M", "mps2-an385"}},
	Trap:      "HARDFAULT", ArenaSize: 65536, MinArena: 4096, Reset: true,
	LinearMemory: 2 << 20,
	Relocs:       map[string][]string{"gcc": relocsThumb2, "clang": relocsThumb2},
}

var targetM0 = &target{
	Name: "m0", Family: "arm", Dir: "m0", Platform: "cortexm",
	Compilers: []compiler{
		{Name: "gcc", Tool: toolGCC, Flags: []string{"-mcpu=cortex-m0", "-mthumb", "-Wa,--noexecstack"}, Target: "m0"},
		{Name: "clang", Tool: toolClang, Flags: []string{"--target=thumbv6m-none-eabi", "-mcpu=cortex-m0", "-mthumb", "-Wa,--noexecstack"}, Target: "m0"},
	},
	Shapes:  armDirect,
	Scripts: []string{"microbit.ld"},
	Run:     runSpec{Kind: runSemihosting, Tool: toolQEMU, Args: []string{"-M", "microbit"}},
	Trap:    "HARDFAULT", ArenaSize: 8192, MinArena: 4096, Reset: true,
	LinearMemory: 16 << 10,
	Relocs:       map[string][]string{"gcc": relocsThumb1, "clang": relocsThumb1},
}

var targetM33 = &target{
	Name: "m33", Family: "arm", Dir: "m33", Platform: "cortexm",
	Compilers: []compiler{
		{Name: "gcc", Tool: toolGCC, Flags: []string{"-mcpu=cortex-m33", "-mthumb", "-Wa,--noexecstack"}, Target: "m33"},
		{Name: "clang", Tool: toolClang, Flags: []string{"--target=thumbv8m.main-none-eabi", "-mcpu=cortex-m33", "-mthumb", "-Wa,--noexecstack"}, Target: "m33"},
	},
	Shapes:  armDirect,
	Scripts: []string{"an505.ld"},
	Run:     runSpec{Kind: runSemihosting, Tool: toolQEMU, Args: []string{"-M", "mps2-an505"}},
	Trap:    "HARDFAULT", ArenaSize: 65536, MinArena: 4096, Reset: true,
	LinearMemory: 2 << 20,
	Relocs:       map[string][]string{"gcc": relocsThumb2, "clang": relocsThumb2},
}

var targetR5 = &target{
	Name: "r5", Family: "arm", Dir: "r5", Platform: "linux",
	Compilers: []compiler{
		{Name: "gcc", Tool: toolGCC, Flags: []string{"-mcpu=cortex-r5", "-marm", "-Wa,--noexecstack"}, Target: "r5"},
		{Name: "clang", Tool: toolClang, Flags: []string{"--target=armv7r-none-eabi", "-mcpu=cortex-r5", "-marm", "-Wa,--noexecstack"}, Target: "r5"},
	},
	Shapes:  armDirect,
	Scripts: []string{"linux.ld", scriptDefault},
	Run:     runSpec{Kind: runUserMode, Tool: toolQEMUUserARM, Args: []string{"-cpu", "cortex-r5"}},
	Trap:    "TRAP", ArenaSize: 65536, MinArena: 4096, Reset: false,
	LinearMemory: 1 << 20,
	Relocs:       map[string][]string{"gcc": relocsA32, "clang": relocsA32},
}

// rv32 builds one of the two RV32 targets: march "rv32imac" or "rv32ima".
// GNU as 2.40 wants Zicsr named (the trap vector reads CSRs); clang 14 has
// the CSR instructions in I and does not know the name.
func rv32(march string) *target {
	return &target{
		Name: march, Family: "riscv", Dir: "rv32", Platform: "rv32",
		Compilers: []compiler{
			{Name: "gcc", Tool: toolRISCVGCC, Flags: []string{"-march=" + march + "_zicsr", "-mabi=ilp32", "-Wa,--noexecstack"}, Target: march},
			{Name: "clang", Tool: toolClang, Flags: []string{"--target=riscv32-unknown-elf", "-march=" + march, "-mabi=ilp32", "-Wa,--noexecstack"}, Target: march},
		},
		Shapes: []linkShape{
			{Name: "riscv64-unknown-elf-ld", Tool: toolRISCVLD, Args: directLinkArgsWith("-m", "elf32lriscv")},
			{Name: "ld.lld", Tool: toolLLD, Args: directLinkArgs},
		},
		Scripts: []string{"virt.ld"},
		Run:     runSpec{Kind: runSemihosting, Tool: toolQEMURISCV32, Args: []string{"-M", "virt", "-bios", "none"}},
		Trap:    "TRAP", ArenaSize: 65536, MinArena: 4096, Reset: true,
		LinearMemory: 4 << 20,
		Relocs: map[string][]string{
			"gcc":   append([]string{"R_RISCV_CALL_PLT"}, relocsRISCVCommon...),
			"clang": append([]string{"R_RISCV_CALL"}, relocsRISCVCommon...),
		},
	}
}

var (
	targetRV32IMAC = rv32("rv32imac")
	targetRV32IMA  = rv32("rv32ima")
)

var targetAArch64 = &target{
	Name: "aarch64", Family: "aarch64", Dir: "aarch64", Platform: "linux",
	Compilers: []compiler{
		{Name: "clang", Tool: toolClang, Flags: []string{"--target=aarch64-linux-gnu", "-fno-pic", "-Wa,--noexecstack"}, Target: "aarch64"},
	},
	Shapes: []linkShape{
		{Name: "aarch64-linux-gnu-ld", Tool: toolAArch64LD, Args: directLinkArgsWith("-static")},
		{Name: "ld.lld", Tool: toolLLD, Args: directLinkArgs},
	},
	Scripts: []string{"linux.ld", scriptDefault},
	Run:     runSpec{Kind: runUserMode, Tool: toolQEMUUserA64},
	Trap:    "TRAP", ArenaSize: 65536, MinArena: 4096, Reset: false,
	LinearMemory: 1 << 20,
	Relocs:       map[string][]string{"clang": relocsAArch64},
}

var targetX86_64 = &target{
	Name: "x86_64", Family: "x86_64", Dir: "x86_64", Platform: "linux",
	Compilers: []compiler{
		{Name: "gcc", Tool: toolHostGCC, Flags: []string{"-m64", "-fno-pic", "-fno-stack-protector", "-Wa,--noexecstack"}, Target: "x86_64"},
		{Name: "clang", Tool: toolClang, Flags: []string{"--target=x86_64-linux-gnu", "-fno-pic", "-fno-stack-protector", "-Wa,--noexecstack"}, Target: "x86_64"},
	},
	Shapes: []linkShape{
		{Name: "ld", Tool: toolHostLD, Args: directLinkArgsWith("-m", "elf_x86_64", "-static")},
		{Name: "ld.lld", Tool: toolLLD, Args: directLinkArgs},
	},
	Scripts: []string{"linux.ld", scriptDefault},
	Run:     runSpec{Kind: runNative, Host: "linux/amd64"},
	Trap:    "TRAP", ArenaSize: 65536, MinArena: 4096, Reset: false,
	LinearMemory: 1 << 20,
	Relocs:       map[string][]string{"gcc": relocsX86_64, "clang": relocsX86_64},
}

// targets are all targets, m3 first.
var targets = []*target{targetM3, targetM0, targetM33, targetR5, targetRV32IMAC, targetRV32IMA, targetAArch64, targetX86_64}

// targetByName returns the target with that Name.
func targetByName(t testing.TB, name string) *target {
	t.Helper()
	for _, tg := range targets {
		if tg.Name == name {
			return tg
		}
	}
	t.Fatalf("no target %q", name)
	return nil
}

// targetOf returns cc's target.
func targetOf(t testing.TB, cc compiler) *target {
	t.Helper()
	if cc.Target == "" {
		t.Fatalf("compiler %s names no target", cc.Name)
	}
	return targetByName(t, cc.Target)
}

// tools lists every tool the target needs: compilers, linkers, the
// emulator, and the LLVM tools the self-test reads images with.
func (tg *target) tools() []string {
	var tools []string
	for _, cc := range tg.Compilers {
		tools = append(tools, cc.Tool)
	}
	for _, s := range tg.Shapes {
		tools = append(tools, s.Tool)
	}
	if tg.Run.Tool != "" {
		tools = append(tools, tg.Run.Tool)
	}
	return append(tools, toolObjdump, toolReadelf)
}

// requireTarget skips the test (or fails it under CI=true) unless every
// tool tg needs is there. A native target on another host is skipped, CI
// or not: it cannot run there.
func requireTarget(t testing.TB, tg *target) {
	t.Helper()
	if tg.Run.Kind == runNative && !hostIs(tg.Run.Host) {
		t.Skipf("target %s runs natively on %s hosts only", tg.Name, tg.Run.Host)
	}
	requireTools(t, tg.tools()...)
}

// platformSources are the platform layer's sources, relative to tests/, in
// link order. The Cortex-M semihosting client includes common/mem.c.
func (tg *target) platformSources() []string {
	switch tg.Platform {
	case "cortexm":
		return []string{"cortexm/startup.c", "cortexm/semihost.c", "cortexm/platform.c", "common/baremetal.c"}
	case "rv32":
		return []string{"rv32/start.S", "rv32/platform.c", "common/baremetal.c", "common/mem.c"}
	case "linux":
		return []string{"linux/start.S", "linux/platform.c", "common/mem.c"}
	}
	panic("unknown platform " + tg.Platform)
}

// script returns the path to pass to linkProgram for one of tg's scripts:
// the absolute path of a file in tg.Dir, or "" for scriptDefault.
func (tg *target) script(t testing.TB, name string) string {
	t.Helper()
	if name == scriptDefault {
		return ""
	}
	return testsPath(t, filepath.Join(tg.Dir, name))
}

// shape returns tg's link shape with that Name.
func (tg *target) shape(t testing.TB, name string) linkShape {
	t.Helper()
	for _, s := range tg.Shapes {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("target %s has no link shape %q", tg.Name, name)
	return linkShape{}
}

// compiler returns tg's compiler with that Name.
func (tg *target) compiler(t testing.TB, name string) compiler {
	t.Helper()
	for _, cc := range tg.Compilers {
		if cc.Name == name {
			return cc
		}
	}
	t.Fatalf("target %s has no compiler %q", tg.Name, name)
	return compiler{}
}
