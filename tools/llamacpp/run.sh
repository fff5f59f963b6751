#!/usr/bin/env bash
# llama.cpp on a GGUF file, side by side with ./shardline bench (see README.md). Installs node-llama-cpp (with its
# prebuilt llama.cpp CPU libraries) into .shardline/llamacpp on first use; needs node >= 20 and the npm registry.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DIR="$ROOT/.shardline/llamacpp"
if [ ! -d "$DIR/node_modules/node-llama-cpp" ]; then
  command -v npm >/dev/null || { echo "llamacpp: npm not found (apt-get install nodejs npm)" >&2; exit 1; }
  echo "llamacpp: installing node-llama-cpp 3.22.1 into $DIR ..." >&2
  mkdir -p "$DIR"
  cp "$HERE/package.json" "$DIR/"
  # no install scripts: the prebuilt binaries come in the platform package, nothing is built or downloaded
  (cd "$DIR" && npm install --ignore-scripts --no-audit --no-fund >&2)
fi
cp "$HERE/bench.mjs" "$DIR/"
exec node "$DIR/bench.mjs" "$@"
