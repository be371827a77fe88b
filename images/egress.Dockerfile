# egress: the agent's proxy that swaps the agent's Authorization for a route's real token.
ARG NODE_IMAGE=claude-bottle/node:0.1.0
FROM ${NODE_IMAGE}
COPY dist/sidecars/egress.mjs /opt/claude-bottle/egress.mjs
# Never root, even when run by hand; Compose sets the user that owns its staged files.
USER 10001:10001
# Node flags for a daemon that stays up for the whole session, on the hot path of every
# request (measured idle in a bottle with bench/scale; bench/proxy runs pipelock and egress
# with these same flags, and --compare-bare beside the same proxies without them):
#   --single-threaded-gc  no background GC threads: the heap is a few tens of MiB, so marking
#       it on helper threads saves little, and each thread costs its stack and malloc arena.
#       Under saturating load it cost no CPU per request (a little less, if anything).
#   --v8-pool-size=1  one V8 platform thread instead of four, for what stays in the
#       background (optimizing compiles).
# Not set: --max-semi-space-size (1 or 2 MiB would keep about 4-6 MiB less young generation
# resident, but cost 15-40% more CPU per small request through a saturated proxy),
# --max-old-space-size (it lowers no idle figure, and a body near the size limit, scanned in
# a worker thread that shares these flags, would become a crash), --optimize-for-size,
# --jitless and --lite-mode (all trade speed on this path for memory).
ENTRYPOINT ["node", "--single-threaded-gc", "--v8-pool-size=1", "/opt/claude-bottle/egress.mjs"]
