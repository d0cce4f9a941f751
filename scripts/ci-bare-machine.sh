#!/usr/bin/env bash
# Reproduces CI on a bare machine: a Debian bookworm container that has only Node.js and npm
# (this machine's, copied in), apt, git and ca-certificates — no Docker, no test tools — runs
# `.ci/run` (= `npm ci && npm test`) in a fresh clone of the repository. Inside it, `npm test`
# must install everything else by itself (scripts/install-tools.sh, scripts/swarm-up.sh) and
# start its own dockerd. That dockerd keeps its data on a volume of its own (the host's file
# system, not the container's overlay root), so it uses overlay2 like a real CI machine's engine
# when this machine's engine does; vfs otherwise (it works anywhere, but every image layer is a
# full copy: the image-rebuild test then takes over its 180 s on a loaded 2-core machine).
# BZZZ_CI_DOCKERD_ARGS overrides it, e.g. BZZZ_CI_DOCKERD_ARGS=--storage-driver=vfs.
#
#   bash scripts/ci-bare-machine.sh                  # clone main, run .ci/run
#   bash scripts/ci-bare-machine.sh --ref my-branch  # clone another branch (committed work only)
#   bash scripts/ci-bare-machine.sh --keep           # keep the container afterwards (to look in)
#   bash scripts/ci-bare-machine.sh --rebuild-image  # rebuild the bare image even if it exists
#   bash scripts/ci-bare-machine.sh --shell          # same container, an interactive shell instead
#
# Needs: a Docker engine on this machine (started with scripts/swarm-up.sh when none answers),
# mmdebstrap (installed from Debian's packages when missing), root (mmdebstrap, docker), Debian's
# mirror and the npm registry reachable from a container. Takes 9–11 min on 2 cores (measured:
# npm ci 20 s, tools + docker.io ~1 min, the suite 8–9 min; with vfs 34 min), plus ~40 s the first
# time for the bare image. Exit status is .ci/run's.
#
# The container gets what DESIGN.md lists for a docker-in-docker node (no --privileged, which
# these machines refuse): SYS_ADMIN NET_ADMIN SYS_PTRACE MKNOD, seccomp unconfined, the host's
# cgroup namespace with /sys/fs/cgroup read-write, tmpfs /run and /run/lock.
set -euo pipefail

# The whole script is one { … } block: bash reads it all before running it, so editing this file
# during a half-hour run (a git checkout, say) cannot break the run.
{
log() { printf '[ci-bare] %s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)

ref=main
keep=0
rebuild=0
shell=0
while [ $# -gt 0 ]; do
  case "$1" in
    --ref)
      ref=${2:?--ref needs a branch name}
      shift
      ;;
    --keep) keep=1 ;;
    --rebuild-image) rebuild=1 ;;
    --shell) shell=1 ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *)
      log "unknown argument: $1 (see --help)"
      exit 2
      ;;
  esac
  shift
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# --- this machine: a Docker engine to run the container, mmdebstrap to build its image -------
if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers here: starting one with scripts/swarm-up.sh"
  bash "$ROOT/scripts/swarm-up.sh"
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  log "installing mmdebstrap from Debian's packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mmdebstrap >/dev/null
fi

# --- the bare image: bookworm (apt variant) + git + ca-certificates + this machine's Node.js/npm
NODE_BIN=$(readlink -f "$(command -v node)")
NPM_DIR=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd) # …/node_modules/npm
NODE_VERSION=$("$NODE_BIN" --version)
NPM_VERSION=$(npm --version)
# Network settings this machine's tools use to reach Debian's mirror and the npm registry, copied
# so the container reaches them the same way: extra CA certificates (a TLS-inspecting egress),
# npm's global and user config (cafile, registry, proxy), apt's proxy / validity settings.
CA_FILES=()
for f in /usr/local/share/ca-certificates/*.crt; do [ -f "$f" ] && CA_FILES+=("$f"); done
NPMRC_GLOBAL=$(npm config get globalconfig 2>/dev/null || true)
NPMRC_USER=$(npm config get userconfig 2>/dev/null || true)
APT_CONF=()
for f in /etc/apt/apt.conf.d/*; do
  [ -f "$f" ] && grep -qiE 'proxy|Check-Valid-Until|Check-Date' "$f" && APT_CONF+=("$f")
done
APT_SOURCES=(
  'deb http://deb.debian.org/debian bookworm main'
  'deb http://deb.debian.org/debian bookworm-updates main'
  'deb http://deb.debian.org/debian-security bookworm-security main'
)
PROXY_ENV=()
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -n "${!v:-}" ] && PROXY_ENV+=(-e "$v=${!v}")
done

recipe_hash=$({
  echo "recipe 1: variant=apt include=ca-certificates,git,libstdc++6"
  sha256sum "$NODE_BIN" | cut -d' ' -f1
  echo "npm $NPM_VERSION"
  printf '%s\n' "${APT_SOURCES[@]}"
  for f in "${CA_FILES[@]}" "${APT_CONF[@]}" "$NPMRC_GLOBAL" "$NPMRC_USER"; do
    [ -f "$f" ] && { echo "$f"; cat "$f"; }
  done
} | sha256sum | cut -c1-12)
IMAGE="bzzz-ci/bare-node:${NODE_VERSION#v}-bookworm-$recipe_hash"

if [ "$rebuild" = 1 ] || ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "building $IMAGE: Debian bookworm (apt, git, ca-certificates) + Node.js $NODE_VERSION + npm $NPM_VERSION"
  stage=$(mktemp -d /tmp/bzzz-ci-image.XXXXXX)
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/ca" "$stage/apt"
  for f in "${CA_FILES[@]}"; do cp "$f" "$stage/ca/"; done
  for f in "${APT_CONF[@]}"; do cp "$f" "$stage/apt/"; done
  [ -f "$NPMRC_GLOBAL" ] && cp "$NPMRC_GLOBAL" "$stage/npmrc.global"
  [ -f "$NPMRC_USER" ] && cp "$NPMRC_USER" "$stage/npmrc.user"
  cp "$NODE_BIN" "$stage/node"
  cp -a "$NPM_DIR" "$stage/npm"
  start=$(date +%s)
  # The hooks run with the root directory as "$1"; $stage is substituted now.
  $SUDO mmdebstrap --variant=apt --include=ca-certificates,git,libstdc++6 \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt=force-unsafe-io \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --aptopt='Acquire::Retries "3"' \
    --customize-hook="install -m 0755 '$stage/node' \"\$1/usr/bin/node\"" \
    --customize-hook="mkdir -p \"\$1/usr/lib/node_modules\" && cp -a '$stage/npm' \"\$1/usr/lib/node_modules/npm\"" \
    --customize-hook='ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/bin/npm" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/bin/npx"' \
    --customize-hook="cp '$stage'/ca/*.crt \"\$1/usr/local/share/ca-certificates/\" 2>/dev/null || true; chroot \"\$1\" update-ca-certificates >/dev/null" \
    --customize-hook="cp '$stage'/apt/* \"\$1/etc/apt/apt.conf.d/\" 2>/dev/null || true" \
    --customize-hook="if [ -f '$stage/npmrc.global' ]; then mkdir -p \"\$1$(dirname "$NPMRC_GLOBAL")\" && cp '$stage/npmrc.global' \"\$1$NPMRC_GLOBAL\"; fi" \
    --customize-hook="if [ -f '$stage/npmrc.user' ]; then cp '$stage/npmrc.user' \"\$1/root/.npmrc\"; fi" \
    --customize-hook="v=\$(chroot \"\$1\" /usr/bin/node --version) && [ \"\$v\" = '$NODE_VERSION' ] && chroot \"\$1\" /usr/bin/npm --version >/dev/null" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$stage/rootfs.tar" "${APT_SOURCES[@]}"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'WORKDIR /root' \
    --change 'CMD ["bash"]' \
    "$stage/rootfs.tar" "$IMAGE" >/dev/null
  rm -rf "$stage"
  trap - EXIT
  log "built $IMAGE in $(($(date +%s) - start)) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
else
  log "using $IMAGE (built before; --rebuild-image to rebuild)"
fi

# --- the inner engine's storage: overlay2 on a volume when the host's volumes allow it ---------
if [ -z "${BZZZ_CI_DOCKERD_ARGS:-}" ]; then
  if [ "$(docker info -f '{{.Driver}}' 2>/dev/null)" = overlay2 ]; then
    BZZZ_CI_DOCKERD_ARGS=--storage-driver=overlay2
  else
    BZZZ_CI_DOCKERD_ARGS=--storage-driver=vfs
  fi
fi

# --- a bare copy of the repository, mounted read-only: the container clones from it ----------
work=$(mktemp -d /tmp/bzzz-ci-bare.XXXXXX)
name="bzzz-ci-bare-$(date -u +%Y%m%d%H%M%S)"
cleanup() {
  local rc=$?
  if [ "$keep" = 1 ]; then
    log "kept container $name (docker exec -it $name bash; docker rm -fv $name when done)"
  else
    docker rm -fv "$name" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT INT TERM
git clone --quiet --bare "$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir)" "$work/repo.git"
if ! git -C "$work/repo.git" rev-parse --verify --quiet "refs/heads/$ref" >/dev/null; then
  log "no branch '$ref' in this repository"
  exit 2
fi
log "commit under test: $(git -C "$work/repo.git" log -1 --format='%h %s' "refs/heads/$ref" | cut -c1-100) (branch $ref)"

inner=$(
  cat <<EOF
set -euo pipefail
echo "[ci-bare] inside: \$(. /etc/os-release; echo \$PRETTY_NAME), node \$(node --version), npm \$(npm --version)"
for t in docker dockerd b3sum age psql mmdebstrap busybox etcd hyperfine; do
  if command -v \$t >/dev/null; then echo "[ci-bare] not bare: \$t is installed"; exit 3; fi
done
git clone --quiet --branch '$ref' /src/repo.git /root/bzzz-operator
cd /root/bzzz-operator
echo "[ci-bare] fresh clone at \$(git log -1 --format='%h %s' | cut -c1-100)"
start=\$(date +%s)
set +e
CI=true bash .ci/run
rc=\$?
echo "[ci-bare] .ci/run exited \$rc after \$(( \$(date +%s) - start )) s"
exit \$rc
EOF
)

docker_args=(
  --name "$name" --hostname ci-bare
  --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE --cap-add MKNOD
  --security-opt seccomp=unconfined
  --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw
  --tmpfs /run --tmpfs /run/lock
  # The inner engine's data on a volume of its own (removed with the container), not in the
  # container's overlay layer: overlay2 works on it, and vfs's copies do not bloat the layer.
  -v /var/lib/docker
  -v "$work/repo.git:/src/repo.git:ro"
  -e CI=true
  -e BZZZ_DOCKERD_ARGS="$BZZZ_CI_DOCKERD_ARGS"
  "${PROXY_ENV[@]}"
)
start=$(date +%s)
if [ "$shell" = 1 ]; then
  log "starting $name with a shell (the clone: git clone /src/repo.git)"
  docker run -it "${docker_args[@]}" "$IMAGE" bash
  exit $?
fi
log "running .ci/run in $name (dockerd args inside: $BZZZ_CI_DOCKERD_ARGS)"
set +e
docker run "${docker_args[@]}" "$IMAGE" bash -c "$inner"
rc=$?
set -e
took=$(($(date +%s) - start))
if [ "$rc" = 0 ]; then
  log "PASSED: .ci/run on a bare machine, $((took / 60)) min $((took % 60)) s in all"
else
  log "FAILED (exit $rc) after $((took / 60)) min $((took % 60)) s; rerun with --keep to look inside"
fi
exit "$rc"
}
