#!/usr/bin/env bash
# Packs the GPU check as one self-contained bundle in .device/ (ignored by git): a lent GPU machine has CUDA and
# Python but no Java, no Maven and no network. The bundle holds
#   jrt.tar.xz        a jlinked Java 25 runtime (only the modules the check needs; jdk.zipfs for JUnit's jar scan)
#   lib/              shardline-cli, -model, -worker (the CUDA library is inside the worker jar) and picocli: the
#                     only jars gpu-check and the GPU tests load (no gRPC, Netty, Vert.x, Kafka or Scala)
#   test-classes/     the worker's dev.shardline.worker.cuda test classes
#   junit-platform-console-standalone.jar
#   run.sh, torch_matmul.py
# and must stay well under the device tool's 64 MiB. Then, through the device tool:
#   run(command="bash .device/run.sh", carry=[".device"], timeout_s=330)
# which runs the gpu-tagged tests and `shardline gpu-check` and writes report.md and the logs under $OUT.
# SHARDLINE_PACK_SKIP_BUILD=1 reuses the jars already built (e.g. right after `./mvnw install`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

find_jdk25() {
  local d v
  for d in ${JAVA_HOME:-} /usr/lib/jvm/*25*; do
    [ -x "$d/bin/jlink" ] || continue
    v=$("$d/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    if [ "${v%%.*}" -ge 25 ] 2>/dev/null; then echo "$d"; return 0; fi
  done
  return 1
}
JDK="$(find_jdk25)" || { echo "pack-for-device: no JDK 25 with jlink found (set JAVA_HOME)" >&2; exit 1; }
export JAVA_HOME="$JDK"

JUNIT_VERSION="$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml | head -1)"
if [ "${SHARDLINE_PACK_SKIP_BUILD:-0}" != 1 ]; then
  echo "pack-for-device: building (jars and test classes) with $JDK"
  ./mvnw -q -B -DskipTests package test-compile
fi
if [ ! -f worker/target/classes/native/linux-x86_64/libshardline_cuda.so ]; then
  echo "pack-for-device: the CUDA library was not built (no nvcc here?); nothing to check on a GPU" >&2
  exit 1
fi

rm -rf .device
mkdir -p .device/lib .device/test-classes/dev/shardline/worker
"$JDK/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.management,jdk.unsupported,jdk.zipfs,jdk.incubator.vector \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output .device/jrt 2>/dev/null
tar -C .device -cJf .device/jrt.tar.xz jrt
rm -rf .device/jrt
cp cli/target/shardline-cli.jar .device/lib/
# the model and worker jars from their own modules (this build's), picocli from the cli's runtime dependencies
for j in model/target/shardline-model-*.jar worker/target/shardline-worker-*.jar cli/target/lib/picocli-*.jar; do
  cp "$j" .device/lib/
done
if ! unzip -l .device/lib/shardline-worker-*.jar native/linux-x86_64/libshardline_cuda.so >/dev/null; then
  echo "pack-for-device: the bundled worker jar holds no CUDA library" >&2
  exit 1
fi
cp -r worker/target/test-classes/dev/shardline/worker/cuda .device/test-classes/dev/shardline/worker/
./mvnw -q -B dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_VERSION" \
  -DoutputDirectory=.device -Dmdep.stripVersion=true
cp tools/gpucheck/device-run.sh .device/run.sh
cp tools/gpucheck/torch_matmul.py .device/
if ls .device/lib | grep -Eiq 'kafka|scala|grpc|netty|vertx'; then
  echo "pack-for-device: a server jar slipped into the bundle: $(ls .device/lib)" >&2
  exit 1
fi
size=$(du -sb .device | cut -f1)
echo "pack-for-device: .device holds $(ls .device/lib | wc -l) jars, $((size / 1024 / 1024)) MiB:"
du -sh .device/* | sed 's/^/  /'
if [ "$size" -gt $((48 * 1024 * 1024)) ]; then
  echo "pack-for-device: the bundle is over 48 MiB, too close to the device tool's 64 MiB" >&2
  exit 1
fi
echo "pack-for-device: ready; run 'bash .device/run.sh' on the GPU machine with .device carried"
