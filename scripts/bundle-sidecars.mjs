// Bundles each sidecar into one ESM file under dist/sidecars/, which its image COPYs:
// images never run npm, so they need no registry and no node_modules.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { build } from "esbuild";

const sidecars = ["pipelock", "egress", "supervise", "git-gate"];
const built = [];
for (const name of sidecars) {
  const entry = `src/sidecars/${name}/main.ts`;
  if (!existsSync(entry)) continue;
  await build({
    entryPoints: [entry],
    outfile: `dist/sidecars/${name}.mjs`,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    sourcemap: false,
    legalComments: "none",
    // No comments or indentation: V8 keeps a module's whole source in the heap for as long as
    // the process runs, and a single character past Latin-1 in any comment (an em dash) makes
    // it keep all of it as UTF-16. pipelock's 1.9 MB bundle took 3.9 MiB of heap that way, now
    // 1.4 MB as one byte per character. Names are kept: stack traces still read.
    minifyWhitespace: true,
    // Some dependencies are CommonJS and call require() at run time.
    banner: {
      js: "import { createRequire as __cbRequire } from 'node:module'; const require = __cbRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
  built.push(name);
}
// The git gate runs shell scripts that prepare stages from beside its compiled module.
mkdirSync("dist/sidecars/git-gate", { recursive: true });
for (const script of ["entrypoint.sh", "pre-receive", "access-hook"]) {
  copyFileSync(`src/sidecars/git-gate/${script}`, `dist/sidecars/git-gate/${script}`);
}
// The stand-ins (the demo's upstream, the model API) each run as one file in a container,
// from beside the compiled demo module: their shared WebSocket code is bundled into each.
for (const name of ["stub-upstream-server", "model-standin-server"]) {
  await build({
    entryPoints: [`src/demo/${name}.mjs`],
    outfile: `dist/demo/${name}.mjs`,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    legalComments: "none",
    logLevel: "warning",
  });
}
process.stderr.write(`bundled sidecars: ${built.join(", ") || "(none)"}\n`);
