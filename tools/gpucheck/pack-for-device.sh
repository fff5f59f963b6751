#!/usr/bin/env bash
# Packs what a lent GPU machine needs to run the GPU check. That machine has CUDA, PyTorch and Python but no Java
# and no network, so this puts a jlinked Java 25 runtime (~20 MB as tar.xz), the built jars (with the CUDA
# library inside the worker jar), the GPU test classes and the JUnit console launcher into .device/ (ignored by
# git, ~50 MB, under the device tool's 64 MiB limit). Then, through the device tool:
#   run(command="bash tools/gpucheck/device-run.sh", carry=[".device"], timeout_s=560)
# which runs the gpu-tagged tests and `shardline gpu-check`, and returns their logs and table under $OUT.
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

JUNIT_CONSOLE_VERSION="$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml | head -1)"
echo "pack-for-device: building (jars and test classes) with $JDK"
./mvnw -q -B -DskipTests package test-compile
if [ ! -f worker/target/classes/native/linux-x86_64/libshardline_cuda.so ]; then
  echo "pack-for-device: the CUDA library was not built (no nvcc here?); nothing to check on a GPU" >&2
  exit 1
fi

rm -rf .device
mkdir -p .device/lib .device/test-classes
"$JDK/bin/jlink" --add-modules java.base,java.logging,java.management,java.naming,java.xml,jdk.unsupported,jdk.incubator.vector \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output .device/jrt 2>/dev/null
tar -C .device -cJf .device/jrt.tar.xz jrt
rm -rf .device/jrt
cp cli/target/shardline-cli.jar cli/target/lib/*.jar .device/lib/
cp -r worker/target/test-classes .device/test-classes/worker
cp -r model/target/test-classes .device/test-classes/model
./mvnw -q -B dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_CONSOLE_VERSION" \
  -DoutputDirectory=.device -Dmdep.stripVersion=true
du -sh .device
echo "pack-for-device: ready; run tools/gpucheck/device-run.sh on the GPU machine with .device carried"
