import { describe, expect, it } from "vitest";
import { unprovenVersionNotes } from "./doctor-command.js";

describe("unprovenVersionNotes", () => {
  it("notes, without failing, each cached version the first-run seed was not proved for", () => {
    expect(unprovenVersionNotes("gemini", ["0.61.0", "0.99.0"])).toEqual([
      {
        name: "agent gemini",
        ok: false,
        required: false,
        detail:
          "Gemini CLI 0.99.0 is cached, but claude-bottle's first-run settings are proved only for 0.61.0: a bottle pinned to 0.99.0 may stop at a first-run dialog; pin 0.61.0 (agent: {provider: gemini, version: 0.61.0}) if it does",
      },
    ]);
    expect(unprovenVersionNotes("claude", ["2.1.336"])).toEqual([]);
    expect(unprovenVersionNotes("codex", [])).toEqual([]);
  });
});
