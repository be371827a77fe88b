// pipelock's process entry (bundled to pipelock.mjs, run as `node pipelock.mjs run ...`): its
// settings from argv (pipelock-settings.ts), started and stopped as every sidecar is
// (src/shared/sidecar-process.ts); SIGHUP reloads its policy. The same file is the entry of
// its DLP scan worker threads.
import { isScanWorker, serveScanRequests } from "../../shared/dlp/index.js";
import { runSidecar } from "../../shared/sidecar-process.js";
import { readPipelockSettings } from "./pipelock-settings.js";
import { runPipelock } from "./run-pipelock.js";

if (isScanWorker()) serveScanRequests();
else {
  await runSidecar({
    name: "pipelock",
    start: async (env) =>
      runPipelock({
        ...readPipelockSettings(process.argv.slice(2)),
        env,
        scanWorkerEntry: new URL(import.meta.url),
      }),
  });
}
