#!/bin/sh
# git-gate entrypoint. Reads the upstream list, sets up one mirrored bare repository per
# upstream with its own pinned known_hosts and a private copy of its identity file,
# then serves them over git:// on the internal network only, as the unprivileged gate
# user. It must never serve on the egress network, never trust a host key it was not
# given, and never start with a hook it cannot run (a skipped pre-receive hook would
# let pushes through unscanned).
set -eu

CONFIG=/etc/git-gate/upstreams.json
CREDS_DIR=/etc/git-gate/creds
HOOKS_DIR=/etc/git-gate/hooks
STATE_DIR=/var/lib/git-gate
REPOS_DIR=$STATE_DIR/repos
SSH_DIR=$STATE_DIR/ssh
GATE_USER=git-gate
PORT=9418
# git run as the gate user must not look in root's home.
export HOME="$STATE_DIR"

log() { printf 'git-gate: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[ "$(id -u)" = 0 ] || die "the entrypoint must start as root to hand the identity files to $GATE_USER"
[ -r "$CONFIG" ] || die "no upstream list at $CONFIG"
jq -e '.upstreams | type == "array" and length > 0' "$CONFIG" >/dev/null ||
  die "$CONFIG must be {\"upstreams\": [ ... ]} with at least one upstream"
for hook in pre-receive access-hook; do
  [ -x "$HOOKS_DIR/$hook" ] || die "$HOOKS_DIR/$hook is missing or not executable"
done

# Setup runs as the gate user so every file it creates is the user's own.
as_gate() { setpriv --reuid="$GATE_USER" --regid="$GATE_USER" --init-groups --no-new-privs -- "$@"; }

count=$(jq '.upstreams | length' "$CONFIG")
repos=""
i=0
while [ "$i" -lt "$count" ]; do
  name=$(jq -r ".upstreams[$i].name // empty" "$CONFIG")
  url=$(jq -r ".upstreams[$i].url // empty" "$CONFIG")
  known_hosts=$(jq -r ".upstreams[$i].knownHosts // empty" "$CONFIG")
  i=$((i + 1))
  printf '%s' "$name" | grep -Eq '^[A-Za-z0-9][A-Za-z0-9._-]*$' || die "bad upstream name \"$name\""
  case "$url" in
  ssh://?*) ;;
  *) die "upstream $name: url must be ssh://, got \"$url\"" ;;
  esac
  [ -n "$known_hosts" ] || die "upstream $name: no knownHosts line"
  key="$CREDS_DIR/$name-key"
  [ -r "$key" ] || die "upstream $name: no identity file at $key"

  # ssh refuses a key other users can read; the bind mount keeps the host's mode.
  install -o "$GATE_USER" -g "$GATE_USER" -m 0600 "$key" "$SSH_DIR/$name-key"
  printf '%s\n' "$known_hosts" >"$SSH_DIR/$name.known_hosts"
  chown "$GATE_USER:$GATE_USER" "$SSH_DIR/$name.known_hosts"
  chmod 0644 "$SSH_DIR/$name.known_hosts"

  repo="$REPOS_DIR/$name.git"
  ssh_command="ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes"
  ssh_command="$ssh_command -o UserKnownHostsFile=$SSH_DIR/$name.known_hosts"
  ssh_command="$ssh_command -o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no"
  ssh_command="$ssh_command -o IdentitiesOnly=yes -o IdentityFile=$SSH_DIR/$name-key"
  ssh_command="$ssh_command -o IdentityAgent=none -o ConnectTimeout=10"
  ssh_command="$ssh_command -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR"
  as_gate git init --quiet --bare "$repo"
  # No fetch refspec on the remote: a push from the pre-receive hook must not try to
  # update remote-tracking refs (ref updates are forbidden inside push quarantine).
  as_gate git -C "$repo" config remote.upstream.url "$url"
  as_gate git -C "$repo" config core.sshCommand "$ssh_command"
  as_gate git -C "$repo" config core.hooksPath "$HOOKS_DIR"
  # Upstream decides what it accepts; the gate only scans and forwards.
  as_gate git -C "$repo" config receive.denyNonFastForwards false
  as_gate git -C "$repo" config receive.denyDeletes false
  as_gate git -C "$repo" config receive.denyDeleteCurrent false
  as_gate git -C "$repo" config gc.auto 0
  # Malformed objects are refused here rather than handed to the scanner or upstream.
  as_gate git -C "$repo" config receive.fsckObjects true
  as_gate git -C "$repo" config gate.upstreamName "$name"
  as_gate touch "$repo/git-daemon-export-ok"
  repos="$repos $repo"
  # Warm the mirror; every request refreshes it again, so failure here is not fatal.
  if as_gate git -C "$repo" fetch --quiet --prune upstream \
    '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'; then
    log "upstream $name: mirrored $url"
  else
    log "upstream $name: $url is not reachable yet; requests fail until it is"
  fi
done

# Listen only on interfaces that do not carry the default route: the internal network
# has no gateway, the egress network does. In a Kubernetes pod (GIT_GATE_LISTEN=pod, set by
# the manifests claude-bottle renders) the one interface carries it: there the namespace's
# NetworkPolicy admits only the agent to this port, and the gate listens on the pod's address.
default_dev=$(ip -o -4 route show default | awk '{ for (f = 1; f < NF; f++) if ($f == "dev") { print $(f + 1); exit } }')
listen_args=""
listen_addrs=""
for entry in $(ip -o -4 addr show | awk '{ sub(/\/.*/, "", $4); print $2 "=" $4 }'); do
  dev=${entry%%=*}
  addr=${entry#*=}
  [ "$dev" = lo ] && continue
  [ "${GIT_GATE_LISTEN:-}" != pod ] && [ "$dev" = "$default_dev" ] && continue
  listen_args="$listen_args --listen=$addr"
  listen_addrs="$listen_addrs $addr"
done
[ -n "$listen_args" ] ||
  die "no internal network interface (every interface routes outside); refusing to serve on the egress network"

# The bottle's own secrets, as gitleaks rules on top of the default ones. They arrive in
# the environment (Compose) or as a secret file (Swarm, which must not hold them in the
# service's definition); the file is the gate user's alone, and the variable is dropped
# before the daemon starts so no hook or git process inherits it.
if [ -z "${GIT_GATE_SECRET_RULES:-}" ] && [ -e /run/secrets/GIT_GATE_SECRET_RULES ]; then
  GIT_GATE_SECRET_RULES=$(cat /run/secrets/GIT_GATE_SECRET_RULES) ||
    die "cannot read the secret file /run/secrets/GIT_GATE_SECRET_RULES"
fi
if [ -n "${GIT_GATE_SECRET_RULES:-}" ]; then
  rules=$STATE_DIR/gitleaks-bottle.toml
  umask 077
  {
    printf 'title = "git-gate: gitleaks default rules and this bottle'"'"'s secrets"\n'
    printf '[extend]\npath = "/usr/local/share/git-gate/gitleaks.toml"\n\n'
    printf '%s\n' "$GIT_GATE_SECRET_RULES"
  } >"$rules"
  chown "$GATE_USER:$GATE_USER" "$rules"
  umask 022
fi
unset GIT_GATE_SECRET_RULES

log "serving $count upstream(s) on${listen_addrs} port $PORT"
# The access hook's stderr is discarded by git daemon: fd 3 carries its details here.
exec 3>&2
# --strict-paths with the exact repository list: nothing else under the base is served.
# shellcheck disable=SC2086 # listen_args and repos are lists of words by design
as_gate git daemon --reuseaddr --informative-errors --verbose \
  --port="$PORT" $listen_args --base-path="$REPOS_DIR" --strict-paths \
  --enable=receive-pack --access-hook="$HOOKS_DIR/access-hook" $repos &
daemon=$!
# Forward stop signals: as PID 1 the shell would otherwise make `docker stop` wait.
trap 'kill -TERM "$daemon" 2>/dev/null' TERM INT
set +e
wait "$daemon"
status=$?
# A trapped signal ends `wait` early (status > 128) while the daemon is still exiting.
if [ "$status" -gt 128 ]; then
  wait "$daemon"
  status=$?
fi
exit "$status"
