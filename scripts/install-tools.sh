#!/usr/bin/env bash
# Installs, from Debian's packages, every command-line tool the tests run (and, with --bench, the
# benchmarks too), so that a bare machine (Node.js and apt, nothing else) passes `npm test`.
# `npm test` runs it first (scripts/test.mjs); `npm test -- --project unit` does not: the only unit
# tests that run a tool (promtool, amtool on stacks/monitoring) say so when it is missing. Idempotent: a tool already on PATH is left alone, and apt is not touched
# at all when nothing is missing.
#
#   bash scripts/install-tools.sh            # what `npm test` needs
#   bash scripts/install-tools.sh --bench    # also what `npm run bench:*` needs
#   bash scripts/install-tools.sh --check    # only say what is missing (exit 1 if anything is)
#
# The Docker engine itself (docker.io, iptables) and mmdebstrap come from scripts/swarm-up.sh,
# which `npm test` runs next; it is listed here for completeness of the inventory below.
#
# Inventory: tool (Debian package) — who runs it
#   b3sum (b3sum)                 test/agent/cas/address.test.ts, test/agent/cluster.test.ts, bench:cas
#   age (age)                     test/agent/crypto/key-files.test.ts, bench:crypto
#   psql (postgresql-client)      test/integration/images.test.ts (logs into bzzz/postgres:15)
#   busybox (busybox-static)      scripts/build-test-images.sh (the bzzz-test/busybox images)
#   prometheus, promtool (prometheus)
#                                 test/integration/analysis/prometheus-provider.test.ts (test/support/prometheus.ts),
#                                 test/unit/monitoring/monitoring-files.test.ts (check rules, test rules, check config)
#   amtool, prometheus-alertmanager (prometheus-alertmanager)
#                                 test/unit/monitoring/monitoring-files.test.ts (check-config),
#                                 test/integration/alertmanager.test.ts (test/support/alertmanager.ts)
#   etcd (etcd-server)            bench:election (--bench)
#   hyperfine (hyperfine)         bench:spec, bench:apply start-up phase (--bench)
#   restic (restic)               bench:backup, the peer of the backup repository (--bench)
#   ssh (openssh-client), curl (curl)
#                                 test/bench/fixtures/rollback-v2.sh, the seeds' rollback run by the
#                                 rollback-to-v1 benchmark against the v1 test hosts (--bench)
#   docker, dockerd, mmdebstrap   scripts/swarm-up.sh (docker.io iptables mmdebstrap)
set -euo pipefail

log() { printf '[install-tools] %s\n' "$*" >&2; }

bench=0
check=0
for a in "$@"; do
  case "$a" in
    --bench) bench=1 ;;
    --check) check=1 ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *)
      log "unknown argument: $a (expected --bench, --check or --help)"
      exit 2
      ;;
  esac
done

# "command package" pairs: the command tells whether the package is needed.
tools=(
  "b3sum b3sum"
  "age age"
  "psql postgresql-client"
  "busybox busybox-static"
  "prometheus prometheus"
  "promtool prometheus"
  "amtool prometheus-alertmanager"
)
if [ "$bench" = 1 ]; then
  tools+=(
    "etcd etcd-server"
    "hyperfine hyperfine"
    "restic restic"
    "ssh openssh-client"
    "curl curl"
  )
fi

have() { command -v "$1" >/dev/null 2>&1; }

missing_pkgs=()
missing_cmds=()
for pair in "${tools[@]}"; do
  cmd=${pair%% *}
  pkg=${pair##* }
  if ! have "$cmd"; then
    missing_cmds+=("$cmd")
    missing_pkgs+=("$pkg")
  fi
done

if [ ${#missing_pkgs[@]} -eq 0 ]; then
  log "all present: $(for p in "${tools[@]}"; do printf '%s ' "${p%% *}"; done)"
  exit 0
fi
if [ "$check" = 1 ]; then
  log "missing: ${missing_cmds[*]} (packages: ${missing_pkgs[*]}); run: bash scripts/install-tools.sh$([ "$bench" = 1 ] && echo ' --bench')"
  exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    log "need root to install ${missing_pkgs[*]}: run this as root, or install sudo"
    exit 1
  fi
  SUDO="sudo"
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get here: install these by hand: ${missing_pkgs[*]} (commands: ${missing_cmds[*]})"
  exit 1
fi

log "installing ${missing_pkgs[*]} from Debian's packages (for: ${missing_cmds[*]})"
# Package lists may be missing (a fresh image) or stale (a mirror that moved on): update first.
# Wait for another apt or dpkg run (unattended-upgrades, a parallel job) instead of failing at once.
lock=(-o DPkg::Lock::Timeout=300)
# apt's output is shown only when it fails (debconf and needrestart chatter otherwise).
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! { $SUDO apt-get "${lock[@]}" update -qq &&
  $SUDO env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing_pkgs[@]}"; } >"$out" 2>&1; then
  tail -30 "$out" >&2
  log "apt-get failed installing ${missing_pkgs[*]} (output above)"
  exit 1
fi

still=()
for cmd in "${missing_cmds[@]}"; do have "$cmd" || still+=("$cmd"); done
if [ ${#still[@]} -gt 0 ]; then
  log "installed, but still not found: ${still[*]}"
  exit 1
fi
log "installed: ${missing_cmds[*]}"
