# egress: the agent's proxy that swaps the agent's Authorization for a route's real token.
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
COPY dist/sidecars/egress.mjs /opt/claude-bottle/egress.mjs
# Never root, even when run by hand; Compose sets the user that owns its staged files.
USER 10001:10001
ENTRYPOINT ["node", "/opt/claude-bottle/egress.mjs"]
