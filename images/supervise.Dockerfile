# supervise: the MCP server through which the agent asks a human for more.
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
COPY dist/sidecars/supervise.mjs /opt/claude-bottle/supervise.mjs
# Never root, even when run by hand; Compose sets the user that owns its staged files.
USER 10001:10001
# Node flags for a small daemon that answers a handful of MCP calls an hour (measured idle in
# a bottle with bench/scale):
#   --max-semi-space-size=1  caps each of the young generation's two semi-spaces at 1 MiB
#       (V8 grows them to 8 MiB while the bundle loads, and keeps them): about 6 MiB less.
#   --single-threaded  no background threads for GC or compiling: nothing here is hot.
#   --v8-pool-size=1  so one V8 platform thread instead of four, each with its stack and arena.
#   --optimize-for-size  V8's heuristics that favour memory over speed (smaller heap growth).
# Not set: --max-old-space-size (no idle gain; a cap only adds a way to crash), --jitless
# and --lite-mode (both turn off WebAssembly, which Node's own fetch needs for its parser).
ENTRYPOINT ["node", "--max-semi-space-size=1", "--single-threaded", "--v8-pool-size=1", "--optimize-for-size", "/opt/claude-bottle/supervise.mjs"]
