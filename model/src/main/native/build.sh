#!/usr/bin/env bash
# Builds target/classes/native/linux-x86_64/libshardline_quant.so (the CPU backend's integer kernels for
# quantized one-token products, docs/adr/0016) from this directory's sources. Run by the model's `native-quant`
# Maven profile (active where gcc exists) at process-classes; usable by hand: model/src/main/native/build.sh <model/target>
# quant_cpu.c (the CPU feature check) is built for any x86-64; quant_avx512.c needs AVX-512 F/BW/VL/VBMI/VNNI
# and is only entered after that check passes.
set -euo pipefail

SRC="$(cd "$(dirname "$0")" && pwd)"
TARGET="$(cd "${1:-$SRC/../../../target}" && pwd)"
CC="${CC:-$(command -v gcc || echo gcc)}"
OUT_DIR="$TARGET/classes/native/linux-x86_64"
LIB="$OUT_DIR/libshardline_quant.so"
OBJ="$TARGET/native/obj"

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "build.sh: libshardline_quant.so is built for linux-x86_64 only; the Vector API kernels run instead" >&2; exit 0 ;;
esac
mkdir -p "$OUT_DIR" "$OBJ"
"$CC" -O2 -fPIC -Wall -Werror -c "$SRC/quant_cpu.c" -o "$OBJ/quant_cpu.o"
"$CC" -O3 -fPIC -Wall -Werror -march=x86-64-v3 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vbmi -mavx512vnni \
    -mf16c -mfma -c "$SRC/quant_avx512.c" -o "$OBJ/quant_avx512.o"
"$CC" -shared -o "$LIB" "$OBJ/quant_cpu.o" "$OBJ/quant_avx512.o"
echo "build.sh: built $LIB ($(stat -c %s "$LIB") bytes)"
