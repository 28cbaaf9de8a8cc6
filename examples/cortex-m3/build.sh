#!/bin/sh
# Builds app.elf, the example image the README patches: the program in
# main.c with the test harness's startup code (tests/cortexm), linked for
# QEMU's mps2-an385 through elfpatch-ld with ELFPATCH_PATCH=0, so the
# import stays unbound and 64 KiB are reserved for the arena.
#
#   examples/cortex-m3/build.sh [OUT]     (default: examples/cortex-m3/app.elf)
#
# Needs arm-none-eabi-gcc (Debian's gcc-arm-none-eabi) and Go; ELFPATCH may
# name an elfpatch binary, otherwise one is built. The output is the same,
# byte for byte, on every machine with the same Debian toolchain.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:-$root/examples/cortex-m3/app.elf}")
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${ELFPATCH:-}" ]; then
    go build -o "$tmp/elfpatch" ./cmd/elfpatch
    ELFPATCH=$tmp/elfpatch
fi
export ELFPATCH

cflags="-mcpu=cortex-m3 -mthumb -O2 -ffreestanding -nostdlib -ffunction-sections -fdata-sections -Wa,--noexecstack -Itests/cortexm -Itests/common"
for src in tests/cortexm/startup.c tests/cortexm/semihost.c examples/cortex-m3/main.c; do
    arm-none-eabi-gcc $cflags -c "$src" -o "$tmp/$(basename "$src" .c).o"
done
ELFPATCH_PATCH=0 ELFPATCH_ARENA_SIZE=64K linkerscripts/elfpatch-ld \
    arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -nostdlib -T tests/cortexm/mps2.ld -Wl,--gc-sections \
    "$tmp/startup.o" "$tmp/semihost.o" "$tmp/main.o" -o "$out"
