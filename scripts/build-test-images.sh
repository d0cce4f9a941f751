#!/usr/bin/env bash
# Small images for the integration tests, built offline (nothing can be pulled here):
#   bzzz-test/busybox:1 and :2  — Debian's busybox-static; `httpd` serves /www on port 8080
#     (two tags with different content so an image change is a real change).
# Idempotent: an existing image is kept.
set -euo pipefail
log() { printf '[test-images] %s\n' "$*" >&2; }

# busybox-static comes from scripts/install-tools.sh (`npm test` runs it before this script).
if ! [ -x /bin/busybox ]; then
  bash "$(dirname "$0")/install-tools.sh"
fi

build() {
  local tag=$1
  if docker image inspect "bzzz-test/busybox:$tag" >/dev/null 2>&1; then return; fi
  local dir; dir=$(mktemp -d)
  mkdir -p "$dir/bin" "$dir/www" "$dir/tmp"
  cp /bin/busybox "$dir/bin/busybox"
  for a in sh sleep httpd wget cat ls echo env nc; do ln -sf busybox "$dir/bin/$a"; done
  echo "bzzz-test $tag" > "$dir/www/index.html"
  tar -C "$dir" -c . | docker import \
    --change 'ENV PATH=/bin' \
    --change 'CMD ["/bin/httpd","-f","-p","8080","-h","/www"]' \
    - "bzzz-test/busybox:$tag" >/dev/null
  rm -rf "$dir"
  log "built bzzz-test/busybox:$tag"
}
build 1
build 2
