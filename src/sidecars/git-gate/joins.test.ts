import { describe, expect, it } from "vitest";
import {
  emptyPiecesRecord,
  JoinedText,
  PushPieces,
  parsePiecesRecord,
  pieceLength,
} from "./joins.js";

const TOKEN = "Zq8vLm3TxR7pWc2NbK5yHd9fGs4jAe6u";
const C1 = "a".repeat(40);
const C2 = "b".repeat(40);

describe("JoinedText", () => {
  it("joins values without line breaks into bounded chunks that overlap by the carry", () => {
    const joined = new JoinedText(8, 32);
    const chunks = [
      ...joined.add(Buffer.from("0123456789\nabcdefghij\r\n"), C1),
      ...joined.add(Buffer.from("ABCDEFGHIJ".repeat(5)), C2),
      ...joined.flush(),
    ].map((c) => ({ text: c.bytes.toString(), commit: c.commit }));
    expect(chunks.every((c) => c.text.length <= 32)).toBe(true);
    // Every 8 characters of the joined text (the carry) lie whole in one chunk.
    const whole = `0123456789abcdefghij${"ABCDEFGHIJ".repeat(5)}`;
    for (let i = 0; i + 8 <= whole.length; i++) {
      const window = whole.slice(i, i + 8);
      expect(
        chunks.some((c) => c.text.includes(window)),
        window,
      ).toBe(true);
    }
    expect(chunks.map((c) => c.commit)).toEqual([C2, C2, C2]);
    expect(joined.flush()).toEqual([]);
  });
});

describe("PushPieces", () => {
  const secrets = [{ name: "T", value: TOKEN }];

  it("counts runs of the piece length, not shorter ones", () => {
    expect([pieceLength(8), pieceLength(14), pieceLength(16), pieceLength(64)]).toEqual([
      6, 7, 8, 8,
    ]);
    const pieces = new PushPieces(secrets);
    // Runs of 7 all over the secret: not pieces.
    for (let i = 0; i + 7 <= TOKEN.length; i += 7)
      pieces.add(Buffer.from(`"${TOKEN.slice(i, i + 7)}"`), C1, `file f${i}`);
    expect(pieces.findings(emptyPiecesRecord(), new Set())).toEqual([]);
    expect(pieces.merged(emptyPiecesRecord())).toEqual(emptyPiecesRecord());
  });

  it("joins pieces with the record of earlier pushes, and keeps the earlier commit", () => {
    const first = new PushPieces(secrets);
    first.add(Buffer.from(`x${TOKEN.slice(0, 12)}y`), C1, "file a");
    expect(first.findings(emptyPiecesRecord(), new Set())).toEqual([]);
    const record = first.merged(emptyPiecesRecord());
    expect(record).toEqual({ version: 1, secrets: { T: { length: 32, ranges: [[0, 12, C1]] } } });
    const second = new PushPieces(secrets);
    second.add(Buffer.from(TOKEN.slice(10).toUpperCase()), C2, "file b");
    expect(second.findings(record, new Set())).toEqual([
      {
        secretName: "T",
        commit: C2,
        place: `pieces in file b, joined with what an earlier push brought in commit ${C1}`,
      },
    ]);
    // Reported whole elsewhere in the push: not again as pieces.
    expect(second.findings(record, new Set(["T"]))).toEqual([]);
    expect(second.merged(record).secrets.T?.ranges).toEqual([
      [0, 12, C1],
      [12, 32, C2],
    ]);
    // A record for a secret of another length under the same name is void.
    const other = {
      version: 1 as const,
      secrets: { T: { length: 31, ranges: record.secrets.T?.ranges ?? [] } },
    };
    expect(second.findings(other, new Set())).toEqual([]);
  });
});

describe("parsePiecesRecord", () => {
  it("reads what merged writes, and names the file and the fix for anything else", () => {
    const record = { version: 1, secrets: { T: { length: 32, ranges: [[0, 12, C1]] } } };
    expect(parsePiecesRecord(JSON.stringify(record), "/r.json")).toEqual(record);
    for (const bad of [
      "{",
      "[]",
      '{"version":2,"secrets":{}}',
      `{"version":1,"secrets":{"T":{"length":3,"ranges":[[0,1,"zz"]]}}}`,
    ]) {
      expect(() => parsePiecesRecord(bad, "/r.json")).toThrow(
        /^the pieces record \/r\.json is malformed \(.+\); remove it to start a new record$/,
      );
    }
  });
});
