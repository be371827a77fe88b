import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readGitGateSettings } from "./gate-settings.js";
import { renderSecretRules } from "./secret-rules.js";

describe("readGitGateSettings", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const paths = () => {
    dir = mkdtempSync(join(tmpdir(), "gate-settings-"));
    return { rules: join(dir, "bottle-rules.toml"), record: join(dir, "push-pieces.json") };
  };

  it("reads no files as no secrets and an empty record, pending beside the record", () => {
    const { rules, record } = paths();
    expect(readGitGateSettings(rules, record)).toEqual({
      knownSecrets: [],
      piecesRecord: { version: 1, secrets: {} },
      piecesPendingPath: `${record}.pending`,
    });
  });

  it("reads the bottle's secrets and the record earlier pushes left", () => {
    const { rules, record } = paths();
    writeFileSync(rules, renderSecretRules([{ name: "API_TOKEN", value: "tok3nVALUE1234" }]));
    writeFileSync(record, '{"version":1,"secrets":{}}\n');
    const settings = readGitGateSettings(rules, record);
    expect(settings.knownSecrets).toEqual([{ name: "API_TOKEN", value: "tok3nVALUE1234" }]);
    expect(settings.piecesRecord).toEqual({ version: 1, secrets: {} });
  });

  it("refuses a record it cannot read, naming it and the fix", () => {
    const { rules, record } = paths();
    writeFileSync(record, "{not json");
    expect(() => readGitGateSettings(rules, record)).toThrow(
      `the pieces record ${record} is malformed (not JSON); remove it to start a new record`,
    );
  });

  it("refuses a rules file that does not read back as secrets", () => {
    const { rules, record } = paths();
    writeFileSync(rules, '[[rules]]\nid = "bottle-secret-0"\n');
    expect(() => readGitGateSettings(rules, record)).toThrow(
      "a bottle-secret rule does not read back as a secret",
    );
  });
});
