#!/usr/bin/env bash
# Make a Docker Engine in swarm mode reachable on this machine (Debian).
# Installs docker.io (and mmdebstrap, for the offline image builds) if needed, starts dockerd in the background when no daemon answers,
# and initialises a single-node swarm. Idempotent: safe to run again.
set -euo pipefail

log() { printf '[swarm-up] %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# dockerd for the engine; mmdebstrap to build the images offline (bzzzctl up).
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io iptables)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  # Waits for another apt/dpkg run rather than failing; apt's output only when it fails.
  lock=(-o DPkg::Lock::Timeout=300)
  out=$(mktemp)
  if ! { $SUDO apt-get "${lock[@]}" update -qq &&
    $SUDO env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get "${lock[@]}" install -y -qq "${missing[@]}"; } >"$out" 2>&1; then
    tail -30 "$out" >&2
    rm -f "$out"
    log "apt-get failed installing ${missing[*]} (output above)"
    exit 1
  fi
  rm -f "$out"
fi

if ! docker info >/dev/null 2>&1; then
  # BZZZ_DOCKERD_ARGS: extra dockerd arguments, split on spaces, e.g. "--storage-driver=vfs" for
  # a dockerd inside a container (scripts/ci-bare-machine.sh sets it: overlay2 on overlay fails).
  read -r -a extra_args <<<"${BZZZ_DOCKERD_ARGS:-}"
  log "starting dockerd${BZZZ_DOCKERD_ARGS:+ ${BZZZ_DOCKERD_ARGS}} (log: /var/log/dockerd.log)"
  $SUDO setsid dockerd "${extra_args[@]}" >/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    if [ -S /var/run/docker.sock ] && docker info >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; tail -20 /var/log/dockerd.log >&2; exit 1; }
fi

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != "active" ]; then
  log "initialising a single-node swarm"
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi
log "docker $(docker version --format '{{.Server.Version}}') in swarm mode ($(docker info --format '{{.Swarm.NodeID}}'))"
