# The default agent image: Node.js 20, git and the usual tools. No agent program: Claude
# Code, Codex or Gemini CLI is fetched once on the host with its npm and mounted read-only
# from ~/.claude-bottle/cache/agents, so this image builds offline and serves every
# provider. Packages come from trixie like Node.js itself: the node image already has
# trixie's libc (Node.js 20 needs it, see node.Dockerfile), and bookworm's git or curl
# would pull libssl3, which conflicts with trixie's libssl3t64 and makes apt remove nodejs.
# The package clients people expect come with it: npm, pip and venv, git and a C toolchain
# (build-essential, for native modules and wheels built from source); a bottle reaches
# registries only when its manifest names them (`registries:`, read-only).
# The agent runs as the unprivileged user "agent": it cannot change the system CA store,
# /usr/local/bin or anything else root owns.
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie \
      git openssh-client curl procps less python3 \
      npm python3-pip python3-venv build-essential >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --shell /bin/bash agent \
 && mkdir -p /home/agent/work /home/agent/.claude \
 && chown -R agent:agent /home/agent
USER agent
WORKDIR /home/agent/work
CMD ["sleep", "infinity"]
