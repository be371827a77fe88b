// Starts the supervise sidecar from its environment: the queue directory, the bottle's slug,
// the port and the answer timeout. Separate from main.ts so tests can start it in-process.
import {
  SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS,
  SUPERVISE_ENV,
  SUPERVISE_PORT,
} from "../../contracts/supervise.js";
import { ensureQueueDirs } from "../../shared/queue-files.js";
import { type RunningHttpServer, startSuperviseHttpServer } from "./http-server.js";
import { createSuperviseMcpServer } from "./mcp-server.js";
import { ProposalQueue } from "./proposal-queue.js";

export interface SidecarConfig {
  slug: string;
  queueDir: string;
  port: number;
  answerTimeoutMs: number;
}

/** Reads the sidecar's environment; throws a one-line message on anything missing or malformed. */
export function readSidecarConfig(env: NodeJS.ProcessEnv): SidecarConfig {
  const slug = env[SUPERVISE_ENV.slug];
  const queueDir = env[SUPERVISE_ENV.queueDir];
  if (!slug) throw new Error(`${SUPERVISE_ENV.slug} is not set`);
  if (!queueDir) throw new Error(`${SUPERVISE_ENV.queueDir} is not set`);
  const port = Number(env[SUPERVISE_ENV.port] ?? SUPERVISE_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${SUPERVISE_ENV.port} must be a port number`);
  }
  const timeoutText = env[SUPERVISE_ENV.answerTimeoutSeconds];
  const timeout =
    timeoutText === undefined || timeoutText === ""
      ? SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS
      : Number(timeoutText);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new Error(`${SUPERVISE_ENV.answerTimeoutSeconds} must be a positive number of seconds`);
  }
  return { slug, queueDir, port, answerTimeoutMs: timeout * 1000 };
}

export interface StartOptions {
  /** 0.0.0.0 in the container; 127.0.0.1 in tests. */
  listenHost?: string;
  log?: (line: string) => void;
}

export async function startSupervise(
  config: SidecarConfig,
  options: StartOptions = {},
): Promise<RunningHttpServer> {
  await ensureQueueDirs(config.queueDir);
  const queue = new ProposalQueue({ queueDir: config.queueDir, slug: config.slug });
  const running = await startSuperviseHttpServer({
    listenHost: options.listenHost ?? "0.0.0.0",
    port: config.port,
    createMcpServer: () =>
      createSuperviseMcpServer({ queue, answerTimeoutMs: config.answerTimeoutMs }),
    log: options.log ?? ((line) => process.stderr.write(`supervise: ${line}\n`)),
  });
  return running;
}
