# The runtime every claude-bottle sidecar and the default agent share: Debian with
# Node.js 20 (from trixie, pinned low so nothing else moves) and the CA bundle.
ARG BASE=claude-bottle-base:bookworm
FROM ${BASE}
RUN echo "deb http://deb.debian.org/debian trixie main" > /etc/apt/sources.list.d/trixie.list \
 && printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/trixie \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie \
      nodejs ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
