#!/usr/bin/env bash
# Builds the images `bzzzctl up` needs, offline (no registry: Debian's packages via mmdebstrap,
# this machine's Node.js and this project's build), skipping those already current:
#   bzzz/node-base:20-bookworm, bzzz/bzzzctl:v<version> (+ :latest), bzzz/postgres:15, bzzz/redis:7
#
#   bash scripts/build-images.sh                      # all of them
#   bash scripts/build-images.sh bzzz/redis:7         # only these
#   bash scripts/build-images.sh --force              # rebuild even when current
#   bash scripts/build-images.sh --no-build ...       # use dist/ as it is (default: rebuild it first)
# Needs: a Docker engine, mmdebstrap (apt-get install -y mmdebstrap), root (for mmdebstrap), and
# `npm ci` done. Exit 0 when every image is there, 1 when some image is missing, 2 on error.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
args=()
for a in "$@"; do
  if [ "$a" = --no-build ]; then build=0; else args+=("$a"); fi
done
if [ "$build" = 1 ]; then node scripts/build.mjs; fi
npx esbuild scripts/build-images.ts --bundle --platform=node --format=esm --packages=external \
  --outfile=.build/images/build-images.mjs --log-level=warning
exec node .build/images/build-images.mjs "${args[@]}"
