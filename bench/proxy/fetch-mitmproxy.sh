#!/usr/bin/env bash
# Prints the path of a working mitmdump, getting one from Debian if needed. Debian 13 dropped
# the mitmproxy package and bookworm's (8.1.1) cannot be installed beside trixie's python3, so
# its .debs (and their python3-* dependencies, and the libzstd its zstandard binding checks
# for) are unpacked into a cache dir and run with python3.11, leaving the system untouched.
# Usage: bench/proxy/fetch-mitmproxy.sh [CACHE_DIR]
set -euo pipefail

if command -v mitmdump >/dev/null 2>&1; then
  command -v mitmdump
  exit 0
fi
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle-bench/mitmproxy}
wrapper=$cache/mitmdump
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi

python=/usr/bin/python3.11
if [ ! -x "$python" ]; then
  echo "fetch-mitmproxy: needs $python (apt-get install python3.11)" >&2
  exit 1
fi
release=bookworm
if ! apt-cache show "mitmproxy/$release" >/dev/null 2>&1; then
  echo "fetch-mitmproxy: no mitmproxy/$release in the apt sources (run apt-get update?)" >&2
  exit 1
fi

# The python3-* closure of mitmproxy's dependencies in that release, one apt-cache call per
# level of the tree; the cffi backend's virtual ABI names stand for the real package.
seen=" "
level="mitmproxy"
while [ -n "$level" ]; do
  for pkg in $level; do seen="$seen$pkg "; done
  next=""
  for dep in $(apt-cache show $(printf '%s/'"$release"' ' $level) 2>/dev/null |
    awk '/^Package:/ { keep = !done[$2]++ } keep && /^Depends:/ { sub(/^Depends: /, ""); print }' |
    tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/ //g; s/^python3-cffi-backend-api-.*/python3-cffi-backend/' |
    grep -E '^python3-' | sort -u); do
    case "$seen$next " in *" $dep "*) ;; *) next="$next $dep" ;; esac
  done
  level=$next
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs"
packages=()
for pkg in $seen libzstd1; do packages+=("$pkg/$release"); done
(cd "$work/debs" && apt-get -q download -o APT::Sandbox::User=root "${packages[@]}" >&2)
rm -rf "$cache/root" "$wrapper"
mkdir -p "$cache/root"
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$cache/root"; done

cat >"$wrapper" <<EOF
#!/bin/sh
# mitmdump from Debian $release's mitmproxy, unpacked by bench/proxy/fetch-mitmproxy.sh.
export LD_LIBRARY_PATH="$cache/root/usr/lib/x86_64-linux-gnu"
export PYTHONPATH="$cache/root/usr/lib/python3/dist-packages"
exec $python -S -c 'import sys; from mitmproxy.tools.main import mitmdump; sys.exit(mitmdump())' "\$@"
EOF
chmod +x "$wrapper"
"$wrapper" --version >&2
echo "$wrapper"
