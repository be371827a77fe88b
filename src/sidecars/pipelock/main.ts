// pipelock's process entry (bundled to pipelock.mjs): `run` serves until SIGTERM and reloads
// its policy on SIGHUP; `healthcheck` asks a running pipelock whether it is up. The only place
// in pipelock that exits or prints errors for people. The same file is the entry of its DLP
// scan worker threads.
import * as http from "node:http";
import { isScanWorker, serveScanRequests } from "../../shared/dlp/index.js";
import { BottleError } from "../../shared/errors.js";
import { envWithSecretFiles } from "../../shared/secret-files.js";
import { parsePipelockArgs } from "./cli-args.js";
import { runPipelock } from "./run-pipelock.js";

async function main(argv: readonly string[]): Promise<number> {
  const args = parsePipelockArgs(argv);
  if (args.command === "healthcheck") return (await checkHealth(args.url)) ? 0 : 1;

  // Every socket error is handled where it happens; anything reaching here is a bug, and a
  // firewall that stays up (failing its one request) beats one that takes the bottle offline.
  process.on("unhandledRejection", (reason) => {
    process.stderr.write(`pipelock: unhandled rejection: ${String(reason)}\n`);
  });
  process.on("uncaughtException", (error) => {
    process.stderr.write(`pipelock: uncaught exception: ${error.stack ?? error.message}\n`);
  });
  // DLP scan workers run this same file (see the end of it).
  const running = await runPipelock({
    ...args,
    env: envWithSecretFiles(process.env),
    scanWorkerEntry: new URL(import.meta.url),
  });
  process.on("SIGHUP", () => void running.reload());
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await running.close();
  return 0;
}

function checkHealth(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

if (isScanWorker()) serveScanRequests();
else runMain();

function runMain(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof BottleError) {
        process.stderr.write(
          `pipelock: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`,
        );
        process.exit(error.exitCode);
      }
      process.stderr.write(
        `pipelock: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
