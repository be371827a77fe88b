// Starts the supervise sidecar from its settings (supervise-settings.ts). Separate from main.ts
// so tests can start it in-process.
import { ensureQueueDirs } from "../../shared/queue-files.js";
import { type RunningHttpServer, startSuperviseHttpServer } from "./http-server.js";
import { createSuperviseMcpServer } from "./mcp-server.js";
import { ProposalQueue } from "./proposal-queue.js";
import type { SuperviseSettings } from "./supervise-settings.js";

export interface StartOptions {
  /** 0.0.0.0 in the container; 127.0.0.1 in tests. */
  listenHost?: string;
  log?: (line: string) => void;
}

export async function startSupervise(
  config: SuperviseSettings,
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
