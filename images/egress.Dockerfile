# egress: the agent's proxy that swaps the agent's Authorization for a route's real token.
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
COPY dist/sidecars/egress.mjs /opt/claude-bottle/egress.mjs
ENTRYPOINT ["node", "/opt/claude-bottle/egress.mjs"]
