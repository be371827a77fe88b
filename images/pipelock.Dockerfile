# pipelock: the bottle's egress firewall (allowlist, TLS interception, DLP).
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
COPY dist/sidecars/pipelock.mjs /opt/claude-bottle/pipelock.mjs
# Never root, even when run by hand; Compose sets the user that owns its staged files.
USER 10001:10001
ENTRYPOINT ["node", "/opt/claude-bottle/pipelock.mjs"]
