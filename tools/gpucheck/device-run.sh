#!/usr/bin/env bash
# Runs on a lent GPU machine (see pack-for-device.sh): the gpu-tagged tests, then `shardline gpu-check`.
# Everything it prints also lands under $OUT: device.txt, gpu-tests.txt, gpu-check.log, gpu-check.md.
set -uo pipefail
OUT="${OUT:-/tmp/shardline-out}"
mkdir -p "$OUT" /tmp/shardline-jrt
[ -f .device/jrt.tar.xz ] || { echo "device-run: .device/ is missing: run tools/gpucheck/pack-for-device.sh and carry .device"; exit 2; }
tar -C /tmp/shardline-jrt -xJf .device/jrt.tar.xz
JAVA=/tmp/shardline-jrt/jrt/bin/java
OPTS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC)
CP="$(ls .device/lib/*.jar | tr '\n' ':')"

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; "$JAVA" -version 2>&1; } \
  | tee "$OUT/device.txt"

echo "== gpu-tagged tests"
timeout 220 "$JAVA" "${OPTS[@]}" -jar .device/junit-platform-console-standalone.jar execute \
  --class-path ".device/test-classes/worker:.device/test-classes/model:$CP" \
  --select-package dev.shardline.worker.cuda --include-tag gpu --details=tree --disable-banner --disable-ansi-colors 2>&1 | tee "$OUT/gpu-tests.txt"
tests=${PIPESTATUS[0]}
# a test that could not reach the GPU aborts (assumption) and JUnit still exits 0: on this machine that is a failure
if ! grep -Eq '\[ +0 tests aborted' "$OUT/gpu-tests.txt"; then
  echo "device-run: gpu tests were aborted (no usable GPU?)"; tests=3
fi

echo "== gpu-check"
timeout 300 "$JAVA" "${OPTS[@]}" -cp "$CP" dev.shardline.cli.Main gpu-check --out "$OUT/gpu-check.md" 2>&1 \
  | tee "$OUT/gpu-check.log"
check=${PIPESTATUS[0]}

echo "device-run: gpu tests exit $tests, gpu-check exit $check"
[ "$tests" -eq 0 ] && [ "$check" -eq 0 ]
