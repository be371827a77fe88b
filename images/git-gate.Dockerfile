# The git-gate sidecar: serves each declared upstream as a mirrored bare repository over
# git:// (port 9418), scans pushes with gitleaks and forwards clean refs over SSH.
# The entrypoint and hooks are bind-mounted at run time (see src/sidecars/git-gate/), so
# this image holds only tools, the gate user, the scan configuration and the push scan
# (git-gate.mjs, on Node: the DLP engine reads what gitleaks does not).
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

# Everything from trixie, like Node.js itself (the Node image lists trixie, pinned low):
# bookworm's git and ssh would pull libssl3, which conflicts with trixie's libssl3t64.
# gitleaks 8.16 is only packaged from trixie on anyway.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 -t trixie \
      git openssh-client jq iproute2 ca-certificates gitleaks >/dev/null \
 && rm -rf /var/lib/apt/lists/*

# gitleaks' built-in config skips whole paths (vendor/, node_modules/, *.svg, *.pdf,
# go.sum, package-lock.json, ...): a secret placed there would pass. Extract the
# embedded default config from the binary, drop only its global path allowlist, keep
# every rule, then prove in the build that a key under vendor/ is caught.
RUN set -eu; \
    out=/usr/local/share/git-gate/gitleaks.toml; mkdir -p "${out%/*}"; \
    off=$(grep -boa '# This file has been auto-generated' /usr/bin/gitleaks | head -n1 | cut -d: -f1); \
    [ -n "$off" ]; \
    tail -c +"$((off + 1))" /usr/bin/gitleaks | LC_ALL=C sed -n '/[^[:print:]\t]/q;p' >/tmp/default.toml; \
    last=$(grep -n '^]$' /tmp/default.toml | tail -n1 | cut -d: -f1); \
    head -n "$last" /tmp/default.toml \
      | awk '/^\[allowlist\]$/ { skip = 1; next } /^\[/ { skip = 0 } !skip' \
      | sed 's/^title = .*/title = "claude-bottle git-gate (gitleaks default rules, no global path allowlist)"/' \
      >"$out"; \
    if grep -q '^\[allowlist\]$' "$out"; then echo "global allowlist still present" >&2; exit 1; fi; \
    [ "$(grep -c '^\[\[rules\]\]$' "$out")" -gt 100 ]; \
    t=$(mktemp -d); git -C "$t" init -q; mkdir "$t/vendor"; \
    printf 'aws_access_key_id = %s%s\n' AKIA ZQ3RT5Y7U2W4P6N8 >"$t/vendor/logo.svg"; \
    git -C "$t" add -A; git -C "$t" -c user.name=b -c user.email=b@b commit -qm probe; \
    if gitleaks detect --no-banner --log-level error -c "$out" --source "$t" --redact >/dev/null; then \
      echo "gitleaks config self-test failed: a key under vendor/ was not found" >&2; exit 1; \
    fi; \
    rm -rf "$t" /tmp/default.toml

# The gate runs unprivileged; the entrypoint starts as root only to copy the mounted
# identity files into a private 0600 place this user owns, then drops to it.
RUN useradd --system --user-group --home-dir /var/lib/git-gate --create-home \
      --shell /usr/sbin/nologin git-gate \
 && install -d -o git-gate -g git-gate -m 0700 /var/lib/git-gate/repos /var/lib/git-gate/ssh \
 && install -d -m 0755 /etc/git-gate /etc/git-gate/hooks /etc/git-gate/creds /etc/git-gate/allow

COPY dist/sidecars/git-gate.mjs /opt/claude-bottle/git-gate.mjs

EXPOSE 9418
ENTRYPOINT ["/usr/local/bin/git-gate-entrypoint"]
