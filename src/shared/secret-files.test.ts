import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { envWithSecretFiles } from "./secret-files.js";

describe("envWithSecretFiles", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cb-secrets-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("adds each file named like a variable, exactly as written", () => {
    writeFileSync(join(dir, "API_TOKEN"), "tok en\n");
    writeFileSync(join(dir, "not-a-name"), "x");
    expect(envWithSecretFiles({ PATH: "/bin" }, dir)).toEqual({
      PATH: "/bin",
      API_TOKEN: "tok en\n",
    });
  });

  it("keeps a variable the environment already sets", () => {
    writeFileSync(join(dir, "API_TOKEN"), "from-file");
    expect(envWithSecretFiles({ API_TOKEN: "from-env" }, dir).API_TOKEN).toBe("from-env");
  });

  it("adds nothing without the directory", () => {
    const env = { A: "1" };
    expect(envWithSecretFiles(env, join(dir, "absent"))).toBe(env);
  });

  it("refuses a secret it cannot read, rather than run without it", () => {
    mkdirSync(join(dir, "A_DIR"));
    expect(() => envWithSecretFiles({}, dir)).toThrow();
    rmSync(join(dir, "A_DIR"), { recursive: true });
    writeFileSync(join(dir, "HUGE"), Buffer.alloc(1024 * 1024 + 1));
    expect(() => envWithSecretFiles({}, dir)).toThrow(/larger than/);
  });
});
