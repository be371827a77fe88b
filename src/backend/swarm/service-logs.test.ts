import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { linesUntil } from "./service-logs.js";

async function collect(chunks: string[], until: string): Promise<string[]> {
  const out: string[] = [];
  for await (const line of linesUntil(Readable.from(chunks), until)) out.push(line);
  return out;
}

describe("linesUntil", () => {
  it("keeps the lines up to the moment, without their timestamps, joined across chunks", async () => {
    const lines = await collect(
      [
        '2030-01-01T12:00:00.100000000Z {"a":1}\n2030-01-01T12:00:0',
        '0.900000000Z {"b":2}\n2030-01-01T12:00:01.000000001Z {"c":3}\n',
      ],
      "2030-01-01T12:00:01.000Z",
    );
    expect(lines).toEqual(['{"a":1}\n', '{"b":2}\n']);
  });

  it("takes a zone offset, and skips a line with no timestamp", async () => {
    const lines = await collect(
      ["not stamped\n", "2030-01-01T13:00:00.5+01:00 kept\n", "2030-01-01T12:00:02Z late\n"],
      "2030-01-01T12:00:01Z",
    );
    expect(lines).toEqual(["kept\n"]);
  });
});
