import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BOTTLES as B,
  bottleError as loadError,
  useUserHomes,
} from "../../test/support/fixtures/user-home-fixture.js";
import { listBottles, loadBottle } from "./load-bottle.js";

// A valid ed25519 public key line (made-up key bytes; the blob is well formed).
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3Ey9LZ";

const homes = useUserHomes();

const bottleError = (files: Record<string, string>, name = "dev") => loadError(homes, files, name);

describe("loadBottle: extends across three levels", () => {
  const files = {
    ".ssh/deploy": "not really a key\n",
    [`${B}/base.md`]: `---
env:
  TZ: UTC
  GREETING: hello
egress:
  allow:
    - api.anthropic.com
    - "*.base.example.test"
  dlp: block
supervise: true
git:
  - name: origin
    url: ssh://git@git.example.test/team/base.git
    identity_file: ~/.ssh/deploy
    known_host_key: ${HOST_KEY}
---
The base bottle.
`,
    [`${B}/team.md`]: `---
extends: base
env:
  GREETING: hi
  TEAM: {from_env: TEAM_NAME}
egress:
  allow: [api.anthropic.com, "git.example.test:2222"]
  routes:
    - host: api.example.test
      auth: {scheme: Bearer, token_env: TEAM_TOKEN}
  dlp: warn
git:
  - name: origin
    url: ssh://git@git.example.test:2222/team/app.git
    identity_file: ~/.ssh/deploy
    known_host_key: ${HOST_KEY} team@example.test
  - name: mirror
    url: ssh://git.example.test/mirror.git
    identity_file: ~/.ssh/deploy
    known_host_key: ${HOST_KEY}
runtime:
  image: team/agent:1
---
`,
    [`${B}/tools.md`]: `---
extends: base
supervise: false
egress:
  allow: [tools.example.test]
---
`,
    [`${B}/dev.md`]: `---
extends: [team, tools]
env:
  DEBUG: 1
egress:
  allow_ips: ["203.0.113.7:443"]
  routes:
    - host: api.example.test
      paths: ["/v2/"]
      methods: [GET]
      auth: {scheme: token, token_env: DEV_TOKEN}
    - host: uploads.example.test
      auth: {scheme: x-api-key, token_env: UPLOAD_KEY}
---
# dev

For daily work.
`,
  };

  it("folds parents left to right, each once, the bottle itself last", async () => {
    const options = await homes.make(files);
    const home = options.userHome;
    const bottle = await loadBottle("dev", options);
    expect(bottle.name).toBe("dev");
    expect(bottle.file).toBe(join(home, B, "dev.md"));
    expect(bottle.label).toBe("~/.claude-bottle/bottles/dev.md");
    expect(bottle.doc).toBe("# dev\n\nFor daily work.");
    // base is applied once, before team: tools does not undo team's dlp: warn.
    expect(bottle.chain).toEqual(["base", "team", "tools", "dev"]);
    expect(bottle.egress.dlp).toBe("warn");
    expect(bottle.supervise).toBe(false);
    expect(bottle.runtime).toEqual({ kind: "image", image: "team/agent:1" });
    expect(bottle.agent).toBe("claude");
    expect(
      Object.fromEntries(
        Object.entries(bottle.env).map(([k, v]) => [
          k,
          v.kind === "literal" ? v.value : `from ${v.hostName}`,
        ]),
      ),
    ).toEqual({ TZ: "UTC", GREETING: "hi", TEAM: "from TEAM_NAME", DEBUG: "1" });
    expect(bottle.egress.allow.map((r) => [r.pattern, r.kind, r.host, r.port, r.via])).toEqual([
      ["api.anthropic.com", "host", "api.anthropic.com", null, "allow"],
      ["*.base.example.test", "wildcard", "base.example.test", null, "allow"],
      ["git.example.test:2222", "host", "git.example.test", 2222, "allow"],
      ["tools.example.test", "host", "tools.example.test", null, "allow"],
      ["203.0.113.7:443", "ip", "203.0.113.7", 443, "allow_ips"],
      ["api.example.test", "host", "api.example.test", null, "route"],
      ["uploads.example.test", "host", "uploads.example.test", null, "route"],
    ]);
    expect(bottle.egress.routes.map(({ declaredAt: _, ...route }) => route)).toEqual([
      {
        host: "api.example.test",
        paths: ["/v2/"],
        methods: ["GET"],
        auth: { scheme: "token", tokenEnv: "DEV_TOKEN" },
      },
      {
        host: "uploads.example.test",
        paths: ["/"],
        methods: "all",
        auth: { scheme: "x-api-key", tokenEnv: "UPLOAD_KEY" },
      },
    ]);
    expect(bottle.git.map(({ declaredAt: _, ...upstream }) => upstream)).toEqual([
      {
        name: "origin",
        url: "ssh://git@git.example.test:2222/team/app.git",
        host: "git.example.test",
        port: 2222,
        identityFile: join(home, ".ssh/deploy"),
        knownHostKey: { type: "ssh-ed25519", key: HOST_KEY.split(" ")[1], line: HOST_KEY },
      },
      {
        name: "mirror",
        url: "ssh://git.example.test/mirror.git",
        host: "git.example.test",
        port: null,
        identityFile: join(home, ".ssh/deploy"),
        knownHostKey: { type: "ssh-ed25519", key: HOST_KEY.split(" ")[1], line: HOST_KEY },
      },
    ]);
  });

  it("keeps where each entry was written", async () => {
    const bottle = await loadBottle("dev", await homes.make(files));
    const at = (l: { label: string; line: number; col: number }) => `${l.label}:${l.line}:${l.col}`;
    expect(bottle.egress.allow.map((r) => at(r.declaredAt))).toEqual([
      "~/.claude-bottle/bottles/base.md:7:7",
      "~/.claude-bottle/bottles/base.md:8:7",
      "~/.claude-bottle/bottles/team.md:7:30",
      "~/.claude-bottle/bottles/tools.md:5:11",
      "~/.claude-bottle/bottles/dev.md:6:15",
      "~/.claude-bottle/bottles/dev.md:8:7",
      "~/.claude-bottle/bottles/dev.md:12:7",
    ]);
    expect(bottle.env.GREETING?.declaredAt).toMatchObject({
      label: "~/.claude-bottle/bottles/team.md",
      line: 4,
      col: 3,
    });
  });

  it("applies the defaults to a bottle that sets nothing", async () => {
    const bottle = await loadBottle("empty", await homes.make({ [`${B}/empty.md`]: "---\n---\n" }));
    expect(bottle).toMatchObject({
      chain: ["empty"],
      env: {},
      egress: { allow: [], routes: [], dlp: "block" },
      git: [],
      supervise: true,
      runtime: { kind: "image", image: expect.stringMatching(/^claude-bottle\/agent:/) },
      agent: "claude",
    });
  });

  it("lists the bottles of the home by name", async () => {
    const options = await homes.make({
      ...files,
      [`${B}/notes.txt`]: "",
      [`${B}/Bad Name.md`]: "",
    });
    expect((await listBottles(options)).map((b) => [b.name, b.label])).toEqual([
      ["base", "~/.claude-bottle/bottles/base.md"],
      ["dev", "~/.claude-bottle/bottles/dev.md"],
      ["team", "~/.claude-bottle/bottles/team.md"],
      ["tools", "~/.claude-bottle/bottles/tools.md"],
    ]);
  });

  it("honours CLAUDE_BOTTLE_HOME, showing paths outside the user's home in full", async () => {
    const options = await homes.make({
      "elsewhere/bottles/dev.md": "---\nsupervise: maybe\n---\n",
    });
    const home = options.userHome;
    const error = await loadBottle("dev", {
      env: { HOME: join(home, "sub"), CLAUDE_BOTTLE_HOME: join(home, "elsewhere") },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      message: `${home}/elsewhere/bottles/dev.md:2:1: supervise: expected true or false, got the string "maybe"`,
    });
  });
});

describe("loadBottle: extends errors name the chain", () => {
  it("extends cycle, naming the chain", async () => {
    const error = await bottleError(
      {
        [`${B}/a.md`]: "---\nextends: b\n---\n",
        [`${B}/b.md`]: "---\nextends: [base, c]\n---\n",
        [`${B}/c.md`]: "---\nextends: a\n---\n",
        [`${B}/base.md`]: "---\n---\n",
      },
      "a",
    );
    expect(error.message).toBe(
      '~/.claude-bottle/bottles/c.md:2:1: extends: "a" makes a cycle: a → b → c → a; a bottle cannot extend itself through others',
    );
  });

  it("a bottle that extends itself", async () => {
    const error = await bottleError({ [`${B}/dev.md`]: "---\nextends:\n  - base\n  - dev\n---\n" });
    expect(error.message).toBe(
      '~/.claude-bottle/bottles/dev.md:4:5: extends[1]: a bottle cannot extend itself; remove "dev"',
    );
  });

  it("missing parent, naming the chain and the near miss", async () => {
    const error = await bottleError({
      [`${B}/dev.md`]: "---\nextends: base\n---\n",
      [`${B}/base.md`]: "---\nextends: [commn]\n---\n",
      [`${B}/common.md`]: "---\n---\n",
    });
    expect(error.message).toBe(
      '~/.claude-bottle/bottles/base.md:2:11: extends[0]: no bottle "commn": ~/.claude-bottle/bottles/commn.md does not exist (chain: dev → base → commn) (did you mean "common"?)',
    );
  });

  it("a name that cannot be a bottle's", async () => {
    const error = await bottleError({}, "Dev");
    expect({ message: error.message, hint: error.hint }).toEqual({
      message:
        '"Dev" is not a bottle name: bottle names are lowercase letters, digits and dashes, at most 40, starting with a letter or digit',
      hint: 'a bottle\'s name is its file name without ".md", e.g. ~/.claude-bottle/bottles/dev.md',
    });
  });

  it("a bottle that does not exist", async () => {
    const error = await bottleError({ [`${B}/dev.md`]: "---\n---\n" }, "deb");
    expect(error.message).toBe(
      'no bottle "deb": ~/.claude-bottle/bottles/deb.md does not exist (did you mean "dev"?)',
    );
    expect(error.hint).toBe("bottles you have: dev");
  });
});

describe("loadBottle: size caps", () => {
  const envLines = (n: number) =>
    Array.from({ length: n }, (_, i) => `  VAR_${String(i).padStart(6, "0")}: value${i}`);

  it("refuses a 40,000-key file by its size, before parsing it", async () => {
    const text = `---\nenv:\n${envLines(40_000).join("\n")}\n---\n`;
    const error = await bottleError({ [`${B}/dev.md`]: text });
    expect(error.message).toBe(
      `~/.claude-bottle/bottles/dev.md: ${Buffer.byteLength(text)} bytes, over the 262144 bytes (256 KiB) a manifest may have`,
    );
    expect(error.hint).toBe(
      "a manifest is written by hand and is a few KiB at most; shorten it, or check that this is the file you meant",
    );
  });

  it("refuses more env keys than the cap in a file under the size cap", async () => {
    const error = await bottleError({
      [`${B}/dev.md`]: `---\nsupervise: true\nenv:\n${envLines(1001).join("\n")}\n---\n`,
    });
    expect(error.message).toBe(
      "~/.claude-bottle/bottles/dev.md:3:1: env: 1001 entries, more than the 1000 allowed here; remove some",
    );
    expect(error.hint).toBe(
      "files written by hand have capped sizes; `claude-bottle docs manifests` (Limits) lists them",
    );
  });

  it.each([
    ["egress.allow", 1001, (i: number) => `    - h${i}.example.test`],
    ["egress.allow_ips", 1001, (i: number) => `    - 10.0.${i >> 8}.${i & 255}`],
  ])("refuses more %s entries than the cap", async (path, n, line) => {
    const key = path.split(".")[1];
    const lines = Array.from({ length: n }, (_, i) => line(i));
    const error = await bottleError({
      [`${B}/dev.md`]: `---\negress:\n  ${key}:\n${lines.join("\n")}\n---\n`,
    });
    expect(error.message).toBe(
      `~/.claude-bottle/bottles/dev.md:3:3: ${path}: 1001 entries, more than the 1000 allowed here; remove some`,
    );
  });

  it("refuses any other mapping over the default cap (unknown keys by the thousand)", async () => {
    const keys = Array.from({ length: 101 }, (_, i) => `    k${i}: 1`);
    const error = await bottleError({
      [`${B}/dev.md`]: `---\nenv:\n  A: {from_env: B}\n  C:\n${keys.join("\n")}\n---\n`,
    });
    expect(error.message).toBe(
      "~/.claude-bottle/bottles/dev.md:4:3: env.C: 101 entries, more than the 100 allowed here; remove some",
    );
  });

  it("loads a file at every cap", async () => {
    const allow = Array.from({ length: 1000 }, (_, i) => `    - h${i}.example.test`);
    const ips = Array.from({ length: 1000 }, (_, i) => `    - 10.0.${i >> 8}.${i & 255}`);
    const text = `---\nenv:\n${envLines(1000).join("\n")}\negress:\n  allow:\n${allow.join("\n")}\n  allow_ips:\n${ips.join("\n")}\n---\n`;
    expect(Buffer.byteLength(text)).toBeLessThan(262_144);
    const bottle = await loadBottle("dev", await homes.make({ [`${B}/dev.md`]: text }));
    expect(Object.keys(bottle.env)).toHaveLength(1000);
    expect(bottle.env.VAR_000999?.declaredAt.line).toBe(1002);
    expect(bottle.egress.allow).toHaveLength(2000);
  });

  it("refuses __proto__ as an env name, and nothing is polluted", async () => {
    const error = await bottleError({
      [`${B}/dev.md`]: "---\nenv:\n  TZ: UTC\n  __proto__: {from_env: HOME}\n---\n",
    });
    expect(error.message).toBe(
      `~/.claude-bottle/bottles/dev.md:4:3: env.__proto__: "__proto__" cannot be a key: it names a JavaScript object's internals`,
    );
    expect(({} as Record<string, unknown>).from_env).toBeUndefined();
  });
});
