package arenablob

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// These tests disassemble each object with llvm-objdump for exactly the
// architecture it promises to run on and check what the instructions are.

type insn struct {
	addr     uint64
	size     int
	mnemonic string
	operands string
}

func (i insn) data() bool { return strings.HasPrefix(i.mnemonic, ".") }

func (i insn) String() string {
	return "0x" + strconv.FormatUint(i.addr, 16) + ": " + i.mnemonic + " " + i.operands
}

var insnLine = regexp.MustCompile(`^\s+([0-9a-f]+):\s(.*)$`)

// disassemble runs llvm-objdump -d with args on v's object and returns the
// code section's instructions (and pool data) in order.
func disassemble(t *testing.T, v Variant, args ...string) []insn {
	t.Helper()
	name := "llvm-objdump"
	if e := os.Getenv("LLVM_OBJDUMP"); e != "" {
		name = e
	}
	tool := needTool(t, name)
	path := filepath.Join(t.TempDir(), v.Name+".o")
	if err := os.WriteFile(path, v.Object, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, append(append([]string{"-d"}, args...), path)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, cmd.Args[1:], err)
	}
	var is []insn
	for _, line := range strings.Split(string(out), "\n") {
		m := insnLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		addr, _ := strconv.ParseUint(m[1], 16, 64)
		// "f8 b5        \tpush\t{r3, ...}": the bytes, then a tab.
		rest := strings.TrimLeft(m[2], " \t")
		tab := strings.IndexByte(rest, '\t')
		if tab < 0 {
			t.Fatalf("cannot read %q", line)
		}
		text := strings.Fields(strings.ReplaceAll(rest[tab+1:], "\t", " "))
		in := insn{addr: addr, size: len(strings.Fields(rest[:tab]))}
		if len(text) > 0 {
			in.mnemonic = text[0]
			in.operands = strings.Join(text[1:], " ")
		}
		is = append(is, in)
	}
	if len(is) == 0 {
		t.Fatalf("%s printed no instructions", name)
	}
	return is
}

// covered checks that the listing accounts for every byte of the code.
func covered(t *testing.T, v Variant, is []insn) {
	t.Helper()
	code := codeBytes(t, v)
	next := uint64(0)
	for _, i := range is {
		if i.addr != next {
			t.Errorf("listing jumps from %#x to %#x", next, i.addr)
		}
		next = i.addr + uint64(i.size)
		if i.mnemonic == "" || strings.Contains(i.mnemonic, "unknown") {
			t.Errorf("%v: does not decode", i)
		}
	}
	if next != uint64(len(code)) {
		t.Errorf("listing covers %d of %d bytes", next, len(code))
	}
}

func codeBytes(t *testing.T, v Variant) []byte {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(v.Object))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(codeSection)
	if s == nil {
		t.Fatalf("no %s", codeSection)
	}
	b, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func variant(t *testing.T, name string) Variant {
	t.Helper()
	v, ok := ByName(name)
	if !ok {
		t.Fatalf("no variant %s", name)
	}
	return v
}

// ARMv6-M has the 16-bit Thumb instructions and, of the 32-bit ones, only
// BL, MRS, MSR and the barriers.
var v6mWide = map[string]bool{"bl": true, "mrs": true, "msr": true, "dmb": true, "dsb": true, "isb": true}

func TestThumb1HasOnlyInstructionsARMv6MExecutes(t *testing.T) {
	v := variant(t, "thumb1")
	is := disassemble(t, v, "--triple=thumbv6m-none-eabi")
	covered(t, v, is)
	inPool := false
	for _, i := range is {
		if i.data() {
			inPool = true
			if i.size != 4 || i.mnemonic != ".word" {
				t.Errorf("%v: the pool holds words only", i)
			}
			continue
		}
		if inPool {
			t.Errorf("%v: code after the literal pool", i)
		}
		switch {
		case i.size == 2:
		case i.size == 4 && v6mWide[i.mnemonic]:
		default:
			t.Errorf("%v: a %d-byte instruction ARMv6-M does not have", i, i.size)
		}
		for _, bad := range []string{"cbz", "cbnz", "it", "ldrex", "strex", "udf.w"} {
			if i.mnemonic == bad || (bad == "it" && strings.HasPrefix(i.mnemonic, "it") && len(i.mnemonic) <= 5) {
				t.Errorf("%v: not an ARMv6-M instruction", i)
			}
		}
	}
	// The check has teeth: the Thumb-2 allocator does not pass it.
	bad := 0
	for _, i := range disassemble(t, variant(t, "thumb2"), "--triple=thumbv6m-none-eabi") {
		if strings.Contains(i.mnemonic, "unknown") || (i.size == 4 && !i.data() && !v6mWide[i.mnemonic]) {
			bad++
		}
	}
	if bad == 0 {
		t.Errorf("disassembling thumb2 as ARMv6-M finds nothing ARMv6-M lacks; the check above proves nothing")
	}
}

func TestRV32HasNoCompressedInstruction(t *testing.T) {
	v := variant(t, "rv32")
	code := codeBytes(t, v)
	if len(code)%4 != 0 {
		t.Fatalf("code is %d bytes, not whole 32-bit instructions", len(code))
	}
	for off := 0; off < len(code); off += 4 {
		// The two low bits of a 32-bit instruction are 11; anything else is
		// a 16-bit (compressed) one.
		if w := binary.LittleEndian.Uint32(code[off:]); w&3 != 3 {
			t.Errorf("%#x: %08x is not a 32-bit instruction", off, w)
		}
	}
	is := disassemble(t, v, "--triple=riscv32", "--mattr=-c")
	covered(t, v, is)
	for _, i := range is {
		if i.size != 4 {
			t.Errorf("%v: %d bytes", i, i.size)
		}
	}
}

func TestRV32CDecodesWithCompressedInstructions(t *testing.T) {
	v := variant(t, "rv32c")
	is := disassemble(t, v, "--triple=riscv32", "--mattr=+c")
	covered(t, v, is)
	short := 0
	for _, i := range is {
		if i.size == 2 {
			short++
		}
	}
	if short == 0 {
		t.Errorf("rv32c holds no compressed instruction: it would be rv32 again")
	}
}

// The base integer instructions and the aliases llvm-objdump prints for
// them (compressed instructions print as their expansions).
var rv32iMnemonics = strings.Fields(`
	lui auipc jal jalr beq bne blt bge bltu bgeu lb lh lw lbu lhu sb sh sw
	addi slti sltiu xori ori andi slli srli srai add sub sll slt sltu xor
	srl sra or and
	mv not neg li nop j jr ret call tail beqz bnez blez bgez bltz bgtz
	bgt ble bgtu bleu seqz snez sltz sgtz unimp`)

var xReg = regexp.MustCompile(`\bx([0-9]+)\b`)

func TestRV32VariantsUseOnlyX1ToX15AndTheBaseIntegerISA(t *testing.T) {
	base := map[string]bool{}
	for _, m := range rv32iMnemonics {
		base[m] = true
	}
	for _, c := range []struct{ name, mattr string }{{"rv32", "-c"}, {"rv32c", "+c"}} {
		t.Run(c.name, func(t *testing.T) {
			v := variant(t, c.name)
			is := disassemble(t, v, "--triple=riscv32", "--mattr="+c.mattr, "-M", "numeric")
			covered(t, v, is)
			regs := 0
			for _, i := range is {
				if !base[i.mnemonic] {
					t.Errorf("%v: not in RV32I (no M, no A, no Zicsr)", i)
				}
				for _, m := range xReg.FindAllStringSubmatch(i.operands, -1) {
					regs++
					if n, _ := strconv.Atoi(m[1]); n > 15 {
						t.Errorf("%v: x%d does not exist on RV32E", i, n)
					}
				}
			}
			if regs == 0 {
				t.Errorf("no register operand read: is -M numeric still understood?")
			}
		})
	}
}

func TestAArch64AndX86_64DecodeCompletely(t *testing.T) {
	for _, c := range []struct{ name, triple, call, trap string }{
		{"aarch64", "aarch64", "bl", "udf"},
		{"x86_64", "x86_64", "callq", "ud2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := variant(t, c.name)
			is := disassemble(t, v, "--triple="+c.triple)
			covered(t, v, is)
			calls := 0
			for k, i := range is {
				if strings.TrimSuffix(i.mnemonic, "q") != strings.TrimSuffix(c.call, "q") {
					continue
				}
				calls++
				if k+1 >= len(is) || is[k+1].mnemonic != c.trap {
					t.Errorf("%v is not followed by %s", i, c.trap)
				}
			}
			if calls != 1 {
				t.Errorf("%d calls, want exactly one (the trap hook)", calls)
			}
		})
	}
}
