#!/bin/sh
# Rebuilds the allocator objects elfpatch embeds, byte for byte, and the
# pointer-base shims that go in front of them (shim_*.S).
#
# The assemblers are pinned: the objects in this directory were made by the
# versions named below with exactly these flags.  Another version may encode
# the same source differently, so the script refuses to run with one (set
# ELFPATCH_BLOB_ANY_AS=1 to build anyway, e.g. to see the difference).
# The output names no path and carries no timestamp: the sources have no
# .file directive and no debug information is requested.  Beside each
# object, VARIANT.lines records the source line of every instruction (from
# a second, debug build, read with llvm-dwarfdump): elfpatch builds the
# allocator's DWARF line table from it for images that carry DWARF.
#
# The RISC-V objects are made by llvm-mc, not GNU as: GNU as keeps a
# relocation against a local label for every branch and jump, even with
# relaxation off, and the allocator objects must refer to nothing but the
# symbols elfpatch resolves.
#
# Usage: arena_blob/build.sh [OUTDIR [VARIANT...]]
#   OUTDIR defaults to arena_blob itself; without VARIANTs all are built:
#   thumb2 thumb1 rv32c rv32 aarch64 x86_64 and the shims shim_thumb
#   shim_rv32 shim_aarch64 shim_x86_64.
# Each tool can be replaced through the environment (ARM_AS, RISCV_MC,
# AARCH64_AS, X86_64_AS, DWARFDUMP), e.g. to name a pinned version installed elsewhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
if [ $# -gt 0 ]; then shift; fi
variants=${*:-thumb2 thumb1 rv32c rv32 aarch64 x86_64 shim_thumb shim_rv32 shim_aarch64 shim_x86_64}

ARM_AS=${ARM_AS:-arm-none-eabi-as}
RISCV_MC=${RISCV_MC:-llvm-mc}
AARCH64_AS=${AARCH64_AS:-aarch64-linux-gnu-as}
X86_64_AS=${X86_64_AS:-as}
DWARFDUMP=${DWARFDUMP:-llvm-dwarfdump}

# pinned TOOL VERSION: refuse TOOL unless the first line of its --version
# output is exactly VERSION.
pinned() {
    have=$("$1" --version | head -n 1)
    if [ "$have" != "$2" ] && [ "${ELFPATCH_BLOB_ANY_AS:-}" != 1 ]; then
        echo "build.sh: $1 is '$have'; the objects are pinned to '$2'" >&2
        exit 1
    fi
}

mkdir -p "$out"
cd "$here"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# rows OBJ: the line rows of OBJ's one code sequence, "OFFSET LINE" per
# instruction, offsets in hex from the start of the code.  The debug build
# is made only for them: the embedded object carries no debug information.
rows() {
    pinned "$DWARFDUMP" "Debian LLVM version 14.0.6"
    "$DWARFDUMP" --debug-line "$1" >"$1.dump"
    awk '/^0x[0-9a-f]+ / && !/end_sequence/ {
        a = $1; sub(/^0x0*/, "", a); if (a == "") a = "0"; print "0x" a, $2 }' "$1.dump"
}

for v in $variants; do
    # Each case names the pinned tool, its flags, the flags that add line
    # information, and the source.
    case $v in
    thumb2)
        # ARMv7-M and up (Thumb-2, no FPU needed).
        pinned "$ARM_AS" "GNU assembler (2.40-2+18+b1) 2.40"
        set -- "$ARM_AS" -mcpu=cortex-m3 -mthumb; g=--gdwarf-4; src=thumb2.S
        ;;
    thumb1)
        # ARMv6-M and ARMv8-M Baseline: the assembler rejects anything a
        # Cortex-M0 cannot execute.
        pinned "$ARM_AS" "GNU assembler (2.40-2+18+b1) 2.40"
        set -- "$ARM_AS" -mcpu=cortex-m0 -mthumb; g=--gdwarf-4; src=thumb1.S
        ;;
    rv32c)
        # RV32I + C (RV32IMC, RV32IMAC, RV32EC); relaxation off for good.
        pinned "$RISCV_MC" "Debian LLVM version 14.0.6"
        set -- "$RISCV_MC" -triple=riscv32 -mattr=+c,-relax -filetype=obj
        g="-g -dwarf-version=4"; src=rv32.S
        ;;
    rv32)
        # RV32I without C: not one compressed instruction.
        pinned "$RISCV_MC" "Debian LLVM version 14.0.6"
        set -- "$RISCV_MC" -triple=riscv32 -mattr=-c,-relax -filetype=obj
        g="-g -dwarf-version=4"; src=rv32.S
        ;;
    aarch64)
        pinned "$AARCH64_AS" "GNU assembler (GNU Binutils for Debian) 2.40"
        set -- "$AARCH64_AS"; g=--gdwarf-4; src=aarch64.S
        ;;
    x86_64)
        # The host assembler; --64 makes any other host's assembler refuse.
        pinned "$X86_64_AS" "GNU assembler (GNU Binutils for Debian) 2.40"
        set -- "$X86_64_AS" --64; g=--gdwarf-4; src=x86_64.S
        ;;
    shim_thumb)
        # One shim for thumb1 and thumb2: ARMv6-M instructions only.
        pinned "$ARM_AS" "GNU assembler (2.40-2+18+b1) 2.40"
        set -- "$ARM_AS" -mcpu=cortex-m0 -mthumb; g=--gdwarf-4; src=shim_thumb.S
        ;;
    shim_rv32)
        # One shim for rv32 and rv32c: no compressed instruction.
        pinned "$RISCV_MC" "Debian LLVM version 14.0.6"
        set -- "$RISCV_MC" -triple=riscv32 -mattr=-c,-relax -filetype=obj
        g="-g -dwarf-version=4"; src=shim_rv32.S
        ;;
    shim_aarch64)
        pinned "$AARCH64_AS" "GNU assembler (GNU Binutils for Debian) 2.40"
        set -- "$AARCH64_AS"; g=--gdwarf-4; src=shim_aarch64.S
        ;;
    shim_x86_64)
        pinned "$X86_64_AS" "GNU assembler (GNU Binutils for Debian) 2.40"
        set -- "$X86_64_AS" --64; g=--gdwarf-4; src=shim_x86_64.S
        ;;
    *)
        echo "build.sh: unknown variant '$v'" >&2
        exit 2
        ;;
    esac
    "$@" -o "$out/$v.o" "$src"
    # shellcheck disable=SC2086 # $g is one or two flags
    "$@" $g -o "$tmp/$v.o" "$src"
    rows "$tmp/$v.o" >"$out/$v.lines"
done
