// Entry of the supervise sidecar (bundled to supervise.mjs, run as `node supervise.mjs`): the
// MCP server on 0.0.0.0:SUPERVISE_PORT over the queue directory, its settings from the
// environment (supervise-settings.ts), started and stopped as every sidecar is
// (src/shared/sidecar-process.ts). Compose checks its health path with bash's /dev/tcp: see
// httpHealthcheck in src/core/compose.ts.
import { runSidecar } from "../../shared/sidecar-process.js";
import { startSupervise } from "./start-supervise.js";
import { readSuperviseSettings } from "./supervise-settings.js";

await runSidecar({
  name: "supervise",
  start: async (env) => {
    const settings = readSuperviseSettings(env);
    const running = await startSupervise(settings);
    process.stderr.write(
      `supervise: bottle ${settings.slug}, queue ${settings.queueDir}, listening on port ${running.port}\n`,
    );
    return running;
  },
});
