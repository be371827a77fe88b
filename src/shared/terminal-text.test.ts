import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { HOSTILE_TEXT, rawControlsIn } from "../../test/support/fixtures/hostile-text.js";
import {
  defuseControls,
  isTerminalSafe,
  shellCommandLine,
  shellQuote,
  terminalSafe,
  terminalSafeJson,
} from "./terminal-text.js";

const HOSTILE = HOSTILE_TEXT;

describe("terminalSafe", () => {
  it.each(Object.entries(HOSTILE))("escapes %s", (_name, text) => {
    const shown = terminalSafe(text);
    expect(rawControlsIn(shown)).toEqual([]);
    expect(shown).not.toBe(text);
  });

  it("shows the exact escapes, in JavaScript notation", () => {
    for (const { text, shown } of [
      { text: "x\x1b]0;pwned\x07y", shown: "x\\x1b]0;pwned\\x07y" },
      { text: "fix\u202Etxt", shown: "fix\\u202etxt" },
      { text: "a\u009bb", shown: "a\\x9bb" },
      { text: "a\x7f\x00", shown: "a\\x7f\\x00" },
      { text: "a\nb\tc\rd", shown: "a\\nb\\tc\\rd" },
      { text: "main\u{E0041}", shown: "main\\u{e0041}" },
      { text: "a\uD800b", shown: "a\\ud800b" },
      { text: "\u2066x\u2069", shown: "\\u2066x\\u2069" },
    ]) {
      expect(terminalSafe(text), JSON.stringify(text)).toBe(shown);
    }
  });

  it("doubles a backslash, so an escape in the output always means a character in the input", () => {
    expect(terminalSafe("\\x1b")).toBe("\\\\x1b");
    expect(terminalSafe("\x1b")).toBe("\\x1b");
    expect(terminalSafe("\\x1b")).not.toBe(terminalSafe("\x1b"));
    expect(terminalSafe("C:\\dir")).toBe("C:\\\\dir");
  });

  it("keeps ordinary text, accents, CJK, emoji and combining marks as they are", () => {
    for (const text of [
      "claude-bottle/dev/fix-login",
      "src/ünïcode/файл.ts",
      "修正 ブランチ",
      "emoji 🎉 and 👩‍💻",
      "e\u0301",
      "$(touch x) `id` ; rm -rf / 'q' \"dq\"",
    ]) {
      // The ZWJ in the emoji sequence is a format character: it is shown escaped, the rest kept.
      const shown = terminalSafe(text);
      expect(shown.replace("\\u200d", "\u200D")).toBe(text);
    }
  });

  it("keeps newlines and tabs raw only when the caller prints several lines, never CR", () => {
    expect(terminalSafe("a\nb\tc", { multiline: true })).toBe("a\nb\tc");
    expect(terminalSafe("a\r\nb\x1b", { multiline: true })).toBe("a\\r\nb\\x1b");
    expect(terminalSafe("a\u2028b", { multiline: true })).toBe("a\\u2028b");
  });

  it("cuts to a width at a whole character or escape, never inside one", () => {
    expect(terminalSafe("abcdef", { max: 4 })).toBe("abc…");
    expect(terminalSafe("abcd", { max: 4 })).toBe("abcd");
    expect(terminalSafe("ab\x1bcd", { max: 6 })).toBe("ab…");
    expect(terminalSafe("ab\x1bcd", { max: 7 })).toBe("ab\\x1b…");
    expect(terminalSafe("a\\x41bc", { max: 5 })).toBe("a\\\\x…");
    expect(terminalSafe("a🎉🎉", { max: 3 })).toBe("a…");
    expect(terminalSafe("a🎉bc", { max: 4 })).toBe("a🎉…");
    expect(terminalSafe("abc", { max: 0 })).toBe("");
    for (let max = 1; max < 40; max++) {
      const shown = terminalSafe(Object.values(HOSTILE).join(""), { max });
      expect(shown.length).toBeLessThanOrEqual(max);
      expect(rawControlsIn(shown)).toEqual([]);
    }
  });

  it("says whether text needs escaping", () => {
    expect(isTerminalSafe("claude-bottle/dev/main")).toBe(true);
    expect(isTerminalSafe("main\u202E")).toBe(false);
    expect(isTerminalSafe("a\\b")).toBe(false);
  });
});

// Paste a line into a real shell as a user would (on stdin, no `-c` string) and collect the
// arguments printf received, NUL-separated.
function pasteInto(shell: string, line: string): string[] | null {
  const r = spawnSync(shell, [], { input: `printf '%s\\0' ${line}\n`, encoding: "utf8" });
  if (r.error !== undefined) return null;
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.split("\0").slice(0, -1);
}

const SHELLS = ["bash", "dash"].filter((s) => spawnSync(s, ["-c", "exit 0"]).status === 0);

const PASTE_CORPUS = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
  "fix$(touch${IFS}$HOME/x)",
  "`id`",
  "a;b",
  "a && b",
  "a|b",
  "a > /tmp/x",
  "it's",
  "'",
  "''",
  '"double"',
  "back\\slash",
  "trail\\",
  "\\'",
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
  "${IFS}",
  "~",
  "~root",
  "*",
  "?",
  "[ab]",
  "{a,b}",
  "!",
  "#comment",
  "a b",
  "",
  "-rf",
  "--upload-pack=touch /tmp/x",
  "X=1",
  "%s",
  "plain/branch-name_1.2",
  "ünïcode",
];

describe("shellQuote", () => {
  /** Plainly safe words stay bare; the rest are single-quoted, or ANSI-C quoted as UTF-8
   * bytes when they hold controls or bidi. */
  const QUOTED: Record<string, string> = {
    "claude-bottle/dev/fix-1.2": "claude-bottle/dev/fix-1.2",
    "/home/u/.claude-bottle/kept/dev/changes.patch":
      "/home/u/.claude-bottle/kept/dev/changes.patch",
    "it's": "'it'\\''s'",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    "fix$(touch${IFS}$HOME/x)": "'fix$(touch${IFS}$HOME/x)'",
    "": "''",
    "X=1": "'X=1'",
    "a\\b": "'a'\\\\'b'",
    // Controls and bidi: ANSI-C quoted UTF-8 bytes.
    "a\x1b]0;t\x07": "$'a\\x1b]0;t\\x07'",
    "fix\u202E'x": "$'fix\\xe2\\x80\\xae\\x27x'",
    "a\x1b5b\\z": "$'a\\x1b\\x35\\x62\\x5cz'",
    "a\nz": "$'a\\x0az'",
    "a\uD800": "$'a\\xef\\xbf\\xbd'",
  };

  it.each(Object.entries(QUOTED))("quotes %j as %s", (word, shown) => {
    expect(shellQuote(word)).toBe(shown);
  });

  it("doubles the backslash before a control, and still shows no raw control", () => {
    expect(isTerminalSafe(shellQuote("a\\\x1b\u2066"))).toBe(false); // the doubled backslash
    expect(rawControlsIn(shellQuote("a\\\x1b\u2066"))).toEqual([]);
  });

  it.skipIf(SHELLS.length === 0).each(PASTE_CORPUS)(
    "pastes %j as exactly that one word",
    (word) => {
      for (const shell of SHELLS) {
        expect(pasteInto(shell, shellQuote(word))).toEqual([word]);
      }
    },
  );

  it.skipIf(!SHELLS.includes("bash")).each(Object.entries(HOSTILE))(
    "pastes %s into bash as exactly that word, shown with no raw control",
    (_name, text) => {
      const quoted = shellQuote(text);
      expect(rawControlsIn(quoted)).toEqual([]);
      const [word] = pasteInto("bash", quoted) ?? [];
      // Node writes a lone surrogate as U+FFFD, and a shell word cannot hold NUL: bash ends
      // the word there, which is still that one word, never a second command.
      expect(word).toBe(text.replace(/[\uD800-\uDFFF]/gu, "\uFFFD").split("\0")[0]);
    },
  );

  it.skipIf(!SHELLS.includes("dash"))(
    "reads as a literal string in a sh without $'…', never as an expansion",
    () => {
      const args = pasteInto("dash", shellQuote("$(touch /nonexistent/x)\x1b"));
      expect(args).toEqual(["$$(touch /nonexistent/x)\\x1b"]);
    },
  );

  it.skipIf(!SHELLS.includes("dash"))(
    "cannot be closed early by a quote or a backslash in a sh without $'…'",
    () => {
      for (const word of ["a\x1b'; echo RAN; '", "a\x1b\\'; echo RAN; '", "\u202e' `echo RAN` '"]) {
        const args = pasteInto("dash", `${shellQuote(word)} tail`);
        expect(args).toHaveLength(2);
        expect(args?.[1]).toBe("tail");
        expect(args?.join("")).not.toMatch(/^RAN$/m);
      }
    },
  );
});

describe("shellCommandLine", () => {
  it("quotes each word of the argv and joins them with spaces", () => {
    expect(shellCommandLine(["git", "log", "claude-bottle/dev/fix$(id)"])).toBe(
      "git log 'claude-bottle/dev/fix$(id)'",
    );
    expect(
      shellCommandLine(["git", "-C", "/repo with space", "apply", "--", "/k/changes.patch"]),
    ).toBe("git -C '/repo with space' apply -- /k/changes.patch");
  });

  it.skipIf(SHELLS.length === 0)(
    "pastes the whole hostile corpus as one command with those args",
    () => {
      const argv = [...PASTE_CORPUS, "a\x1bb", "\u202Ex"];
      const line = shellCommandLine(argv);
      expect(rawControlsIn(line)).toEqual([]);
      expect(pasteInto("bash", line)).toEqual(argv);
    },
  );
});

describe("defuseControls", () => {
  it("escapes every unsafe character as \\uXXXX, keeping newlines, tabs and backslashes", () => {
    expect(defuseControls("a\x1b[2Jb\n\tc\\x1b")).toBe("a\\u001b[2Jb\n\tc\\x1b");
    expect(defuseControls("\u202E\u{E0041}\r")).toBe("\\u202e\\udb40\\udc41\\u000d");
    for (const text of Object.values(HOSTILE)) {
      expect(rawControlsIn(defuseControls(text), { newline: true, tab: true })).toEqual([]);
    }
  });

  it("changes nothing in text terminalSafe made safe", () => {
    for (const text of Object.values(HOSTILE)) {
      const safe = terminalSafe(text);
      expect(defuseControls(safe)).toBe(safe);
    }
  });

  it("keeps JSON valid and equal when it holds raw controls in strings", () => {
    const raw = '{"a":"x\u009b\u2028\u202e\u{E0041}y"}';
    expect(JSON.parse(defuseControls(raw))).toEqual(JSON.parse(raw));
  });
});

describe("terminalSafeJson", () => {
  const value = {
    ref: "a\x1b]0;t\x07b",
    bidi: "fix\u202Etxt",
    seps: "a\u2028b\u2029c",
    c1: "a\u0085\u009bb",
    del: "a\x7f",
    zw: "a\u200Bb\uFEFF",
    lone: "a\uD800",
    tag: "\u{E0041}",
    quote: 'q"\\',
    nested: ["\u2066", { k: "\u00AD" }],
  };

  it("stays valid JSON that parses to the same value", () => {
    for (const space of [undefined, 2]) {
      const json = terminalSafeJson(value, space);
      const back = JSON.parse(json) as typeof value;
      expect(back).toEqual({ ...value, lone: "a\uD800" });
    }
  });

  it("holds no raw control, bidi or separator character", () => {
    const json = terminalSafeJson(value, 2);
    expect(rawControlsIn(json, { newline: true })).toEqual([]);
    expect(json).toContain("\\u202e");
    expect(json).toContain("\\u2028");
    expect(json).toContain("\\u009b");
    expect(json).toContain("\\udb40\\udc41");
  });

  it("keeps the pretty-printing newlines and ordinary text", () => {
    expect(terminalSafeJson({ a: "ünï 🎉" }, 2)).toBe('{\n  "a": "ünï 🎉"\n}');
  });
});
