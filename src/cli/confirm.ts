// Asks a yes/no question on the terminal. Without a terminal there is nobody to ask:
// the caller must have passed --yes.
import { createInterface } from "node:readline/promises";
import { InputError } from "../shared/errors.js";
import type { CliContext } from "./cli-context.js";

export async function confirm(ctx: CliContext, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!ctx.stdinIsTty) {
    throw new InputError(`${question} needs confirmation, and standard input is not a terminal`, {
      hint: "pass --yes to proceed without asking",
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
