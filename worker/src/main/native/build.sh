#!/usr/bin/env bash
# Builds target/classes/native/linux-x86_64/libshardline_cuda.so from this directory's sources.
# Run by the worker's `cuda` Maven profile (active when nvcc exists) at process-classes; usable by hand:
#   worker/src/main/native/build.sh <worker/target>
# sm_80/86/89/90 machine code + compute_90 PTX (JIT for newer GPUs); static cudart; the driver is never linked.
set -euo pipefail

SRC="$(cd "$(dirname "$0")" && pwd)"
TARGET="$(cd "${1:-$SRC/../../../target}" && pwd)"
NVCC="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
INCLUDE="$TARGET/native/include"         # javac -h output (CudaNative's JNI header)
OBJ="$TARGET/native/obj"
OUT_DIR="$TARGET/classes/native/linux-x86_64"
LIB="$OUT_DIR/libshardline_cuda.so"
LOG="$TARGET/native/build.log"

GENCODE=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86
         -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=sm_90
         -gencode arch=compute_90,code=compute_90)
FLAGS=(-O3 -std=c++17 -Xcompiler -fPIC -Xcompiler -Wall "-I$SRC" "-I$INCLUDE"
       "-I$JAVA_HOME/include" "-I$JAVA_HOME/include/linux")

if [[ ! -f "$INCLUDE/dev_shardline_worker_cuda_CudaNative.h" ]]; then
    echo "build.sh: missing $INCLUDE/dev_shardline_worker_cuda_CudaNative.h (javac -h did not run?)" >&2
    exit 1
fi
mkdir -p "$OBJ" "$OUT_DIR"
start=$(date +%s.%N)

# Sources newer than their objects are recompiled; the .cu files in parallel (each is one op family).
pids=()
for cu in "$SRC"/*.cu; do
    o="$OBJ/$(basename "${cu%.cu}").o"
    if [[ ! -f "$o" || "$cu" -nt "$o" || "$SRC/common.cuh" -nt "$o" ]]; then
        "$NVCC" "${FLAGS[@]}" "${GENCODE[@]}" -c "$cu" -o "$o" & pids+=($!)
    fi
done
bridge="$OBJ/jni_bridge.o"
if [[ ! -f "$bridge" || "$SRC/jni_bridge.cpp" -nt "$bridge" || "$SRC/common.cuh" -nt "$bridge"
      || "$INCLUDE/dev_shardline_worker_cuda_CudaNative.h" -nt "$bridge" ]]; then
    "$NVCC" "${FLAGS[@]}" -c "$SRC/jni_bridge.cpp" -o "$bridge" & pids+=($!)
fi
for p in "${pids[@]}"; do wait "$p"; done

"$NVCC" -shared "${GENCODE[@]}" -cudart static -Xlinker -z,defs -o "$LIB" "$OBJ"/*.o
end=$(date +%s.%N)

{
    echo "built $LIB ($(stat -c %s "$LIB") bytes) in $(awk "BEGIN{printf \"%.1f\", $end-$start}") s with $("$NVCC" --version | tail -1)"
    if command -v cuobjdump >/dev/null; then
        echo "--- cuobjdump --list-elf"; cuobjdump --list-elf "$LIB"
        echo "--- cuobjdump --list-ptx"; cuobjdump --list-ptx "$LIB"
    elif command -v python3 >/dev/null; then
        echo "--- fatbin entries (cuobjdump not installed; list_fatbin.py)"; python3 "$SRC/list_fatbin.py" "$LIB"
    fi
    echo "--- NEEDED"
    (readelf -d "$LIB" 2>/dev/null | grep NEEDED) || true
} > "$LOG"
sed 's/^/[cuda] /' "$LOG"
