// Entry point of the egress image (`node egress.mjs`, no arguments). Prints a refusal to
// start on stderr and exits 1; once listening, only SIGTERM or SIGINT stop it.
import { BottleError } from "../../shared/errors.js";
import { envWithSecretFiles } from "../../shared/secret-files.js";
import { readEgressSettings } from "./egress-settings.js";
import { type RunningEgress, startEgress } from "./start-egress.js";

async function main(): Promise<void> {
  let egress: RunningEgress;
  try {
    const env = envWithSecretFiles(process.env);
    egress = await startEgress({ settings: readEgressSettings(env), env });
  } catch (error) {
    if (error instanceof BottleError) {
      process.stderr.write(
        `egress: refusing to start: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`,
      );
    } else {
      process.stderr.write(`egress: failed to start (a bug): ${String(error)}\n`);
    }
    process.exit(1);
  }
  const stop = () => {
    egress.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // One connection's bug must not take down every other one: log it and keep serving.
  process.on("uncaughtException", (error) => {
    const text = egress.redact(
      error instanceof Error ? (error.stack ?? error.message) : String(error),
    );
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), event: "internal-error", error: text })}\n`,
    );
  });
}

await main();
