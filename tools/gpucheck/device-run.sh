#!/usr/bin/env bash
# The GPU check, from the bundle pack-for-device.sh made (copied there as .device/run.sh). On a lent GPU machine,
# with .device carried and nothing else (no Java, no network): unpacks the runtime, runs the gpu-tagged tests,
# then `shardline gpu-check` (QwQ shapes), and writes under $OUT: report.md (the short report: device, tests,
# gpu-check's summary, CPU-side start-up times), device.txt, gpu-tests.txt, gpu-check.md, gpu-check.log.
# Exit 0 only when every test passed (none aborted for lack of a GPU) and gpu-check passed.
# SHARDLINE_GPUCHECK_ARGS adds gpu-check options (e.g. "--cuda-device 1" or "--shapes small").
set -uo pipefail
BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-/tmp/shardline-out}"
JRT="${SHARDLINE_JRT:-/tmp/shardline-jrt}"
mkdir -p "$OUT" "$JRT"
[ -f "$BUNDLE/jrt.tar.xz" ] || { echo "run.sh: $BUNDLE/jrt.tar.xz is missing: run tools/gpucheck/pack-for-device.sh"; exit 2; }
now() { date +%s.%N; }
secs() { awk "BEGIN{printf \"%.1f\", $2-$1}"; }

t0=$(now)
[ -x "$JRT/jrt/bin/java" ] || tar -C "$JRT" -xJf "$BUNDLE/jrt.tar.xz"
t_unpack=$(now)
JAVA="$JRT/jrt/bin/java"
OPTS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -XX:TieredStopAtLevel=4)
CP="$(ls "$BUNDLE"/lib/*.jar | tr '\n' ':')"

GPU="$(nvidia-smi --query-gpu=index,name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null \
  || echo "nvidia-smi not available")"
{ date -u; echo "$GPU"; "$JAVA" -version 2>&1; } > "$OUT/device.txt"
cat "$OUT/device.txt"

echo "== gpu-tagged tests"
t1=$(now)
timeout 200 "$JAVA" "${OPTS[@]}" -jar "$BUNDLE/junit-platform-console-standalone.jar" execute \
  --class-path "$BUNDLE/test-classes:$CP" --select-package dev.shardline.worker.cuda --include-tag gpu \
  --details=tree --disable-banner --disable-ansi-colors > "$OUT/gpu-tests.txt" 2>&1
tests=$?
t_tests=$(now)
cat "$OUT/gpu-tests.txt"
# a test that could not reach the GPU aborts (assumption) and JUnit still exits 0: here that is a failure
if ! grep -Eq '\[ +0 tests aborted' "$OUT/gpu-tests.txt"; then
  echo "run.sh: gpu tests were aborted (no usable GPU?)"; [ "$tests" -eq 0 ] && tests=3
fi
# JUnit skips a class it cannot load without a word (e.g. a jar older than the test classes): every gpu test class
# (a subclass of GpuTest, or tagged itself) must have run
for f in "$BUNDLE"/test-classes/dev/shardline/worker/cuda/*Test.class; do
  [ "$(basename "$f")" = GpuTest.class ] && continue
  c="$(basename "$f" .class)"
  if { grep -aq 'dev/shardline/worker/cuda/GpuTest[^A-Za-z0-9_$]' "$f" || grep -aq 'Lorg/junit/jupiter/api/Tag;' "$f"; } \
      && ! grep -q "─ $c " "$OUT/gpu-tests.txt"; then
    echo "run.sh: $c did not run (not discovered: a class it needs is missing?)" | tee -a "$OUT/gpu-tests.txt"
    [ "$tests" -eq 0 ] && tests=4
  fi
done

echo "== gpu-check"
t2=$(now)
# shellcheck disable=SC2086
timeout 300 "$JAVA" "${OPTS[@]}" -cp "$CP" dev.shardline.cli.gpucheck.GpuCheckCommand \
  --out "$OUT/gpu-check.md" ${SHARDLINE_GPUCHECK_ARGS:-} > "$OUT/gpu-check.log" 2>&1
check=$?
t_check=$(now)
tail -40 "$OUT/gpu-check.log"

{
  echo "# Shardline GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- GPUs (nvidia-smi: index, name, memory, driver, max SM clock): $(echo "$GPU" | paste -sd';')"
  echo "- checked: $(grep -m1 -oE 'GPU [0-9]+: [^|;]*' "$OUT/gpu-check.md" 2>/dev/null || echo "no GPU (see gpu-check.log)")"
  echo "- runtime unpack: $(secs "$t0" "$t_unpack") s; gpu tests: $(secs "$t1" "$t_tests") s (exit $tests); gpu-check: $(secs "$t2" "$t_check") s (exit $check)"
  echo "- tests: $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/gpu-tests.txt" | tr -s ' []' ' ' | paste -sd';')"
  echo
  echo "## Failed or aborted tests"
  grep -E '✘|■' "$OUT/gpu-tests.txt" | sed 's/^[│├└─ ]*//' | cut -c1-300 | head -40 || true
  echo
  echo "## gpu-check summary"
  sed -n '/^## 5/,$p' "$OUT/gpu-check.md" 2>/dev/null || tail -20 "$OUT/gpu-check.log"
} > "$OUT/report.md"
echo "run.sh: gpu tests exit $tests, gpu-check exit $check; report: $OUT/report.md"
[ "$tests" -eq 0 ] && [ "$check" -eq 0 ]
