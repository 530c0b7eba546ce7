#!/usr/bin/env bash
# Makes debian:<suite>-slim (bookworm, trixie) locally with debootstrap, for machines where no
# registry answers.
# Usage: make-debian.sh <image-tag> [mirror] [suite]   (suite defaults to bookworm)
set -euo pipefail
tag="${1:?image tag}"
mirror="${2:-http://deb.debian.org/debian}"
suite="${3:-bookworm}"
case "$suite" in
  bookworm|trixie) ;;
  *) echo "resilience: unknown Debian suite '$suite' (accepted: bookworm, trixie)" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "resilience: making $tag needs root (debootstrap); run as root or make the image available (docker pull $tag)" >&2
  exit 2
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "resilience: installing debootstrap (Debian package) to make $tag"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null; }
  else
    echo "resilience: $tag is missing and cannot be pulled; install debootstrap (Debian) or make $tag available" >&2
    exit 2
  fi
fi
dir="$(mktemp -d /tmp/resilience-rootfs.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"/tmp/resilience-debootstrap-$suite.log" 2>&1 \
  || { tail -20 "/tmp/resilience-debootstrap-$suite.log" >&2; echo "resilience: debootstrap of $suite from $mirror failed (log: /tmp/resilience-debootstrap-$suite.log)" >&2; exit 1; }
# Like the official slim image: the suite, its updates and security sources, no docs or man pages.
rm -f "$dir/etc/apt/sources.list"
cat > "$dir/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: ${mirror}
Suites: ${suite} ${suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: ${suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
cat > "$dir/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
echo 'APT::Install-Recommends "false";' > "$dir/etc/apt/apt.conf.d/docker-no-recommends"
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
tar -C "$dir" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'LABEL org.opencontainers.image.vendor="resilience" io.resilience.base="debootstrap"' \
  - "$tag" >/dev/null
echo "resilience: made $tag with debootstrap"
