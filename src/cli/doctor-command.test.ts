import { describe, expect, it } from "vitest";
import { WIDER_POOL_EXAMPLE } from "../backend/engine/address-pools.js";
import { addressRoomCheck, unprovenVersionNotes } from "./doctor-command.js";

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

describe("addressRoomCheck", () => {
  const room = { defaults: true, total: 31, used: 0, bottles: 15 };

  it("is ok with room for ten bottles or more, and says how much", () => {
    expect(addressRoomCheck(room)).toEqual({
      name: "addresses",
      ok: true,
      required: false,
      detail:
        "room for 15 more bottles (0 of the 31 networks the engine's default address pools hold are in use; each bottle takes 2)",
      figures: { bottles: 15, networksUsed: 0, networksTotal: 31 },
    });
  });

  it("notes fewer than ten, and says how to make room before a start runs out", () => {
    const check = addressRoomCheck({ ...room, used: 13, bottles: 9 });
    expect(check).toMatchObject({ ok: false, required: false });
    expect(check.detail).toMatch(/^room for 9 more bottles \(13 of the 31/);
    expect(check.detail).toContain("claude-bottle cleanup");
    expect(check.detail).toContain(WIDER_POOL_EXAMPLE);
  });

  it("fails when not one more bottle fits", () => {
    const check = addressRoomCheck({ ...room, defaults: false, used: 30, bottles: 0 });
    expect(check).toMatchObject({ ok: false, required: true });
    expect(check.detail).toMatch(
      /^no room for another bottle \(30 of the 31 networks the engine's address pools/,
    );
  });
});
