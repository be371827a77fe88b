# supervise: the MCP server through which the agent asks a human for more.
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
COPY dist/sidecars/supervise.mjs /opt/claude-bottle/supervise.mjs
# Never root, even when run by hand; Compose sets the user that owns its staged files.
USER 10001:10001
ENTRYPOINT ["node", "/opt/claude-bottle/supervise.mjs"]
