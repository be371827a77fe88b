# Test fixture: a stand-in for an upstream git host. OpenSSH server, public-key login
# only, for user "git" (git-shell) holding one bare repository /srv/git/app.git on
# branch main. The host key is generated per container at start, so a test reads it
# back from /etc/ssh/ssh_host_ed25519_key.pub to pin it. The key allowed to log in
# comes from env AUTHORIZED_KEY. sshd's pid is in /run/upstream-sshd.pid so a test can
# take the host down while the container (and its address) stays.
ARG BASE=claude-bottle-base:bookworm
FROM ${BASE}

ENV DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 \
      openssh-server git >/dev/null \
 && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*

# "*" rather than useradd's "!": with UsePAM off, sshd refuses a locked account.
RUN useradd --create-home --home-dir /home/git --shell /usr/bin/git-shell git \
 && usermod -p '*' git \
 && seed=$(mktemp -d) \
 && git init -q -b main "$seed" \
 && printf '# app\n' >"$seed/README.md" \
 && git -C "$seed" add README.md \
 && git -C "$seed" -c user.name=upstream -c user.email=upstream@example.test \
      commit -qm "Initial commit" \
 && install -d -o git -g git /srv/git \
 && git clone -q --bare "$seed" /srv/git/app.git \
 && chown -R git:git /srv/git \
 && rm -rf "$seed"

COPY <<'EOF' /etc/ssh/sshd_config.d/upstream.conf
HostKey /etc/ssh/ssh_host_ed25519_key
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers git
UsePAM no
EOF

COPY --chmod=0755 <<'EOF' /usr/local/bin/sshd-upstream
#!/bin/sh
set -eu
[ -n "${AUTHORIZED_KEY:-}" ] || { echo "sshd-upstream: set AUTHORIZED_KEY" >&2; exit 1; }
ssh-keygen -q -t ed25519 -N '' -C upstream -f /etc/ssh/ssh_host_ed25519_key
install -d -o git -g git -m 0700 /home/git/.ssh
printf '%s\n' "$AUTHORIZED_KEY" >/home/git/.ssh/authorized_keys
chown git:git /home/git/.ssh/authorized_keys
chmod 0600 /home/git/.ssh/authorized_keys
mkdir -p /run/sshd
/usr/sbin/sshd -D -e &
echo $! >/run/upstream-sshd.pid
exec sleep infinity
EOF

EXPOSE 22
ENTRYPOINT ["/usr/local/bin/sshd-upstream"]
