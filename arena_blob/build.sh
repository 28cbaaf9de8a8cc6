#!/bin/sh
# Rebuilds the allocator objects elfpatch embeds, byte for byte.
#
# The assembler is pinned: the objects in this directory were made by the
# version named below with exactly these flags.  Another version may encode
# the same source differently, so the script refuses to run with one (set
# ELFPATCH_BLOB_ANY_AS=1 to build anyway, e.g. to see the difference).
# The output names no path and carries no timestamp: the source has no .file
# directive and no debug information is requested.
#
# Usage: arena_blob/build.sh [OUTDIR]    (default: arena_blob itself)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
AS=${ARM_AS:-arm-none-eabi-as}
pinned="GNU assembler (2.40-2+18+b1) 2.40"

have=$("$AS" --version | head -n 1)
if [ "$have" != "$pinned" ] && [ "${ELFPATCH_BLOB_ANY_AS:-}" != 1 ]; then
    echo "build.sh: $AS is '$have'; the objects are pinned to '$pinned'" >&2
    exit 1
fi

mkdir -p "$out"
cd "$here"
# thumb2: ARMv7-M and up (Thumb-2, no FPU needed).
"$AS" -mcpu=cortex-m3 -mthumb -o "$out/thumb2.o" thumb2.S
