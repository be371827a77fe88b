#!/usr/bin/env bash
# Installs and starts what claude-bottle needs on a Debian 12 host: a Docker engine,
# Compose v2 and gitleaks, then imports an offline base image built with debootstrap.
# Idempotent: every step checks before it acts, so running it twice costs seconds.
#
# The host is left alone: trixie is added pinned at priority 100 and only the four
# packages are selected from it by name (`pkg/trixie`), which pulls containerd,
# docker-cli and one Perl library along and nothing else. `-t trixie` would instead
# raise the whole dependency closure to trixie: libc6, libssl3 removed, python3 3.13.
# A host that already has a Docker engine and Compose v2 (docker-ce, Docker Desktop)
# gets no engine packages at all.
set -euo pipefail

# --simulate: add the trixie source and pin, then print what apt-get would do for the
# engine packages (apt-get -s) and stop: nothing is installed or started. The setup test
# runs it in a throwaway Debian 12 container to prove the host's libc6 and python3 stay.
SIMULATE=0
# --with-browser (implied by any non-empty CI): also Debian's own chromium, which the dashboard's
# browser tests drive. Taken from bookworm by name without its recommends (those would
# upgrade the host's systemd and perl); nothing already installed moves.
WITH_BROWSER=0
[ -n "${CI:-}" ] && WITH_BROWSER=1
# --print-mirror: print the Debian mirror the script would use (read from this host's apt
# sources) and stop.
PRINT_MIRROR=0
case "${1:-}" in
--simulate) SIMULATE=1 ;;
--print-mirror) PRINT_MIRROR=1 ;;
--with-browser) WITH_BROWSER=1 ;;
"") ;;
*) printf '[setup-host] error: unknown argument %s (known: --simulate, --with-browser, --print-mirror)\n' "$1" >&2; exit 2 ;;
esac

BASE_IMAGE="${CLAUDE_BOTTLE_BASE_IMAGE:-claude-bottle-base:bookworm}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/claude-bottle-dockerd.log}"

log() { printf '[setup-host] %s\n' "$*" >&2; }
die() { printf '[setup-host] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts dockerd)"
command -v apt-get >/dev/null || die "needs a Debian-based host with apt-get"

have_engine() {
  command -v dockerd >/dev/null && docker compose version >/dev/null 2>&1 &&
    docker buildx version >/dev/null 2>&1
}

have_packages() {
  have_engine && command -v gitleaks >/dev/null &&
    command -v debootstrap >/dev/null && command -v ssh-keygen >/dev/null &&
    command -v tmux >/dev/null
}

# The packages to take from trixie, each by name: never the whole closure.
trixie_packages() {
  if have_engine; then
    log "a Docker engine with Compose v2 and buildx is already installed: not installing one"
  else
    printf '%s ' docker.io/trixie docker-compose/trixie docker-buildx/trixie
  fi
  command -v gitleaks >/dev/null || printf '%s ' gitleaks/trixie
}

# The Debian mirror this host already uses for bookworm, read from its own apt sources (one-line
# .list files and deb822 .sources files), so trixie and the base image come from the same
# place, mirrors and proxies included. CLAUDE_BOTTLE_DEBIAN_MIRROR overrides it.
debian_mirror() {
  if [ -n "${CLAUDE_BOTTLE_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "$CLAUDE_BOTTLE_DEBIAN_MIRROR"
    return
  fi
  local files=() mirror
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ "${#files[@]}" -gt 0 ] || die "no apt sources on this host; set CLAUDE_BOTTLE_DEBIAN_MIRROR to a Debian mirror's URL"
  mirror=$(awk '
    function flush() {
      if (uris != "" && suites ~ / bookworm /) { print uris; uris = ""; done = 1; exit }
      uris = ""; suites = ""
    }
    FNR == 1 { flush() }
    /^[[:space:]]*#/ { next }
    # One-line format: deb [options] URI suite components...
    $1 == "deb" {
      n = 2
      if ($2 ~ /^\[/) { while (n <= NF && $n !~ /\]$/) n++; n++ }
      if ($(n + 1) == "bookworm") { print $n; done = 1; exit }
    }
    # deb822 format: a stanza of URIs: and Suites:, ended by a blank line or its file.
    /^URIs:/ { uris = $2 }
    /^Suites:/ { suites = " " substr($0, 8) " " }
    /^[[:space:]]*$/ { flush() }
    END { if (!done) flush() }
  ' "${files[@]}" | head -n 1)
  [ -n "$mirror" ] || die "found no bookworm source in /etc/apt; set CLAUDE_BOTTLE_DEBIAN_MIRROR to a Debian mirror's URL"
  printf '%s\n' "$mirror"
}

if [ "$PRINT_MIRROR" = 1 ]; then
  debian_mirror
  exit 0
fi

add_trixie_source() {
  local trixie=/etc/apt/sources.list.d/claude-bottle-trixie.sources mirror
  if [ ! -f "$trixie" ]; then
    mirror=$(debian_mirror)
    log "adding the Debian trixie source from $mirror, pinned to priority 100"
    cat >"$trixie" <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    cat >/etc/apt/preferences.d/claude-bottle-trixie <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  fi
}

install_packages() {
  add_trixie_source
  log "apt-get update"
  apt-get update -qq
  # buildx: the images use BuildKit features (COPY heredocs).
  local picks
  picks=$(trixie_packages)
  if [ -n "$picks" ]; then
    log "installing from trixie by name: $picks"
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 $picks >/dev/null
  fi
  # tmux: the interactive agent tests drive each program in a real terminal.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 \
    debootstrap iptables openssh-client tmux >/dev/null
}

start_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  log "starting dockerd (log: $DOCKERD_LOG)"
  nohup dockerd >"$DOCKERD_LOG" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  tail -n 30 "$DOCKERD_LOG" >&2 || true
  die "dockerd did not answer within 60 s"
}

import_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  local dir mirror
  mirror=$(debian_mirror)
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' RETURN
  log "building the base image $BASE_IMAGE with debootstrap from $mirror (about 30 s)"
  debootstrap --variant=minbase bookworm "$dir" "$mirror" >/dev/null
  tar -C "$dir" -c . | docker import - "$BASE_IMAGE" >/dev/null
}

install_browser() {
  command -v chromium >/dev/null && return
  log "installing chromium from Debian by name, without recommends"
  apt-get update -qq
  # An install that would upgrade a package the host already has is refused, not done.
  if apt-get -s install --no-install-recommends chromium | grep -Eq '^Inst [^ ]+ \['; then
    die "installing chromium would upgrade packages this host already has; install it yourself"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 \
    --no-install-recommends chromium >/dev/null
}

if [ "$SIMULATE" = 1 ]; then
  add_trixie_source
  apt-get update -qq
  picks=$(trixie_packages)
  log "simulating: apt-get install $picks"
  # shellcheck disable=SC2086 # one word per package
  exec apt-get -s install $picks
fi

have_packages || install_packages
have_packages || die "docker, docker compose, gitleaks or debootstrap still missing after install"
[ "$WITH_BROWSER" = 1 ] && install_browser
start_engine
import_base_image
log "ready: $(docker version --format 'engine {{.Server.Version}}'), $(docker compose version --short | sed 's/^/compose /'), gitleaks $(gitleaks version)"
