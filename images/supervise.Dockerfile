# supervise: the MCP server through which the agent asks a human for more.
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
COPY dist/sidecars/supervise.mjs /opt/claude-bottle/supervise.mjs
ENTRYPOINT ["node", "/opt/claude-bottle/supervise.mjs"]
