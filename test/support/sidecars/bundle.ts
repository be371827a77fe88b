// Bundles an entry point the way scripts/bundle-sidecars.mjs bundles the sidecars: one ESM
// file for Node 20 that runs with no node_modules beside it (CommonJS dependencies get a
// require()). Tests use it to run a sidecar as its image does, or to carry a client into a
// container.
import { build } from "esbuild";

export async function bundleForNode(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    logLevel: "warning",
    banner: {
      js: "import { createRequire as __cbRequire } from 'node:module'; const require = __cbRequire(import.meta.url);",
    },
  });
}
