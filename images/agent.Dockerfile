# The default agent image: Node.js 20, git and the usual tools, and Claude Code from npm.
# Packages come from trixie like Node.js itself: the node image already has trixie's libc
# (Node.js 20 needs it, see node.Dockerfile), and bookworm's git or curl would pull
# libssl3, which conflicts with trixie's libssl3t64 and makes apt remove nodejs.
# INSTALL_CLAUDE_CODE=0 builds it without Claude Code, offline (tests, machines without
# the npm registry). The agent runs as the unprivileged user "agent": it cannot change
# the system CA store or anything else root owns.
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
ARG INSTALL_CLAUDE_CODE=1
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie \
      git openssh-client curl procps less python3 >/dev/null \
 && if [ "$INSTALL_CLAUDE_CODE" = 1 ]; then \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie npm >/dev/null \
      && npm install -g --no-fund --no-audit @anthropic-ai/claude-code; \
    fi \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --shell /bin/bash agent \
 && mkdir -p /home/agent/work /home/agent/.claude \
 && chown -R agent:agent /home/agent
USER agent
WORKDIR /home/agent/work
CMD ["sleep", "infinity"]
