import { describe, expect, it } from "vitest";
import { HOSTILE_TEXT, rawControlsIn } from "../../test/support/fixtures/hostile-text.js";
import { terminalSafe } from "../shared/terminal-text.js";
import { type CliIo, defusedIo } from "./io.js";

function recorder(stdoutIsTerminal = true) {
  const out: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(`1:${t}`), stderr: (t) => out.push(`2:${t}`) };
  return { out, io: defusedIo(io, () => stdoutIsTerminal) };
}

describe("defusedIo", () => {
  it("defuses any control that reached either stream without the printer", () => {
    const { out, io } = recorder();
    for (const text of Object.values(HOSTILE_TEXT)) {
      io.stdout(`${text}\n`);
      io.stderr(`claude-bottle: ${text}\n`);
    }
    for (const line of out) expect(rawControlsIn(line, { newline: true, tab: true })).toEqual([]);
    expect(out[0]).toBe("1:a\\u001b[2J\\u001b[Hb\n");
  });

  it("passes text already made safe, newlines, tabs and JSON unchanged", () => {
    const { out, io } = recorder();
    const safe = terminalSafe(Object.values(HOSTILE_TEXT).join(""));
    io.stderr(`${safe}\n\tindented\n`);
    io.stdout('{\n  "a": "\\u001b"\n}\n');
    expect(out).toEqual([`2:${safe}\n\tindented\n`, '1:{\n  "a": "\\u001b"\n}\n']);
  });

  it("leaves piped stdout as it is (data for a file), and still defuses stderr", () => {
    const { out, io } = recorder(false);
    io.stdout('env: "a\u00a0b"\n');
    io.stderr("warning: a\x1bb\n");
    expect(out).toEqual(['1:env: "a\u00a0b"\n', "2:warning: a\\u001bb\n"]);
  });
});
