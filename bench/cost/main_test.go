package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/pulseengine/elfpatch/internal/testtool"
)

// The command runs end to end, small: every table and the list of targets
// come out, and the patched images it checks verify (it exits 1 if not).
func TestTheCostCommandPrintsEveryTable(t *testing.T) {
	testtool.Require(t, "arm-none-eabi-gcc", "arm-none-eabi-objcopy", "arm-none-eabi-ld", "arm-none-eabi-as", "ld.lld", "llvm-objcopy", "/usr/bin/time")
	cmd := exec.Command("go", "run", "./bench/cost", "-size", "4", "-runs", "1", "-sites", "100,1000", "-settle", "0")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./bench/cost: %v\n%s", err, out)
	}
	for _, want := range []string{"Machine: ", "### A 4 MiB image on ", "| elfpatch -o OUT |", "| elfpatch in place |",
		"| arm-none-eabi-objcopy IN OUT |", "### A typical Cortex-M image", "| relink: ld.lld |", "| relink: arm-none-eabi-ld |",
		"### Scaling with the number of relocations", "Time grows as relocations^", "### Targets", "elfpatch faster than relinking with ld.lld"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}
