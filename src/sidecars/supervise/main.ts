// Entry of the supervise sidecar (bundled to supervise.mjs, run as `node supervise.mjs`):
// the MCP server on 0.0.0.0:SUPERVISE_PORT over the queue directory. `node supervise.mjs
// healthcheck` GETs the health path and exits 0 or 1, for a Compose healthcheck in an image
// without curl. Prints a refusal to start on stderr and exits 1.
import { request } from "node:http";
import { SUPERVISE_ENV, SUPERVISE_HEALTH_PATH, SUPERVISE_PORT } from "../../contracts/supervise.js";
import { readSidecarConfig, startSupervise } from "./start-supervise.js";

function healthcheck(port: number): void {
  const req = request(
    { host: "127.0.0.1", port, path: SUPERVISE_HEALTH_PATH, timeout: 3000 },
    (res) => {
      res.resume();
      process.exit(res.statusCode === 200 ? 0 : 1);
    },
  );
  req.on("error", () => process.exit(1));
  req.on("timeout", () => req.destroy());
  req.end();
}

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

if (process.argv[2] === "healthcheck") {
  healthcheck(Number(process.env[SUPERVISE_ENV.port] ?? SUPERVISE_PORT));
} else {
  await main();
}
