# The runtime every claude-bottle sidecar and the default agent share: Debian with
# Node.js 20 (from trixie, pinned low so nothing else moves) and the CA bundle, and the
# fixed unprivileged user 10001 the Node sidecars run as when the CLI runs as root (a
# CLI run by a user runs them as that user's uid instead: see sidecarUserFor).
# This image, unlike the host, must take trixie's libc: bookworm ships Node.js 18 only,
# and trixie's Node.js 20 (libnode115) needs libc6 >= 2.38 and libssl3t64. It is the
# image's own libc; the host's packages are never touched by a build.
ARG BASE=claude-bottle-base:bookworm
FROM ${BASE}
# trixie from the mirror the base image was bootstrapped from (its own bookworm source).
RUN mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list) \
 && test -n "$mirror" \
 && echo "deb $mirror trixie main" > /etc/apt/sources.list.d/trixie.list \
 && printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/trixie \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie \
      nodejs ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 sidecar \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin sidecar
