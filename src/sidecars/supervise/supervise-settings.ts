// The supervise sidecar's settings, read from its environment (all written by the bottle's
// renderer): the bottle's slug, the queue directory, the port and the answer timeout.
import {
  SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS,
  SUPERVISE_ENV,
  SUPERVISE_PORT,
} from "../../contracts/supervise.js";
import { BottleError } from "../../shared/errors.js";

const RENDERED = "the bottle's renderer sets it; run supervise through `claude-bottle start`";

export interface SuperviseSettings {
  slug: string;
  queueDir: string;
  port: number;
  answerTimeoutMs: number;
}

/** Reads the sidecar's environment; a BottleError names the variable missing or malformed. */
export function readSuperviseSettings(env: NodeJS.ProcessEnv): SuperviseSettings {
  const slug = env[SUPERVISE_ENV.slug];
  const queueDir = env[SUPERVISE_ENV.queueDir];
  if (!slug) throw new BottleError(`${SUPERVISE_ENV.slug} is not set`, { hint: RENDERED });
  if (!queueDir) throw new BottleError(`${SUPERVISE_ENV.queueDir} is not set`, { hint: RENDERED });
  const port = Number(env[SUPERVISE_ENV.port] ?? SUPERVISE_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BottleError(`${SUPERVISE_ENV.port} must be a port number`, { hint: RENDERED });
  }
  const timeoutText = env[SUPERVISE_ENV.answerTimeoutSeconds];
  const timeout =
    timeoutText === undefined || timeoutText === ""
      ? SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS
      : Number(timeoutText);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new BottleError(
      `${SUPERVISE_ENV.answerTimeoutSeconds} must be a positive number of seconds`,
      { hint: RENDERED },
    );
  }
  return { slug, queueDir, port, answerTimeoutMs: timeout * 1000 };
}
