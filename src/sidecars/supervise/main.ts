// Entry of the supervise sidecar (bundled to supervise.mjs, run as `node supervise.mjs`):
// the MCP server on 0.0.0.0:SUPERVISE_PORT over the queue directory. (Compose checks its
// health path with bash's /dev/tcp: see httpHealthcheck in src/core/compose.ts.) Prints a
// refusal to start on stderr and exits 1.
import { readSidecarConfig, startSupervise } from "./start-supervise.js";

async function main(): Promise<void> {
  try {
    const config = readSidecarConfig(process.env);
    const running = await startSupervise(config);
    process.stderr.write(
      `supervise: bottle ${config.slug}, queue ${config.queueDir}, listening on port ${running.port}\n`,
    );
    const stop = () => {
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  } catch (error) {
    process.stderr.write(`supervise: refusing to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

await main();
