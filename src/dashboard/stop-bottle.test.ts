import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cliStopper } from "./stop-bottle.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cb-stopper-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A stand-in CLI that prints its argv and an env value, then exits with `code`. */
async function fakeCli(code: number, body = ""): Promise<string> {
  const path = join(dir, "main.mjs");
  await writeFile(
    path,
    `${body}\nprocess.stderr.write(JSON.stringify(process.argv.slice(2)) + " " + process.env.CB_MARK + "\\n");\nprocess.exitCode = ${code};\n`,
  );
  return path;
}

describe("cliStopper", () => {
  it("runs `stop <slug> --backend <name>` as an argv, in the env given, and reports its exit", async () => {
    const stop = cliStopper({
      cliMain: await fakeCli(0),
      backend: "compose",
      env: { ...process.env, CB_MARK: "m1" },
      timeoutMs: 20_000,
    });
    // A slug with shell syntax is one argument, not a command.
    expect(await stop("a-1; touch x")).toEqual({
      ok: true,
      exitCode: 0,
      output: '["stop","a-1; touch x","--backend","compose"] m1',
    });
  });

  it("reports a failure, and kills a stop past its net", async () => {
    const failing = cliStopper({
      cliMain: await fakeCli(1),
      backend: "compose",
      env: process.env,
      timeoutMs: 20_000,
    });
    expect(await failing("b-2")).toMatchObject({ ok: false, exitCode: 1 });
    const hung = cliStopper({
      cliMain: await fakeCli(0, "setInterval(() => {}, 1000);"),
      backend: "compose",
      env: process.env,
      timeoutMs: 300,
    });
    expect(await hung("c-3")).toMatchObject({ ok: false, exitCode: null });
  });

  it("runs one stop per bottle at a time: a second press waits for the first", async () => {
    const stop = cliStopper({
      cliMain: await fakeCli(0, "await new Promise((r) => setTimeout(r, 300));"),
      backend: "compose",
      env: process.env,
      timeoutMs: 20_000,
    });
    const first = stop("d-4");
    expect(stop("d-4")).toBe(first);
    await first;
  });
});
