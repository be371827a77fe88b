import { describe, expect, it } from "vitest";
import {
  BOTTLES as B,
  bottleError as loadError,
  useUserHomes,
} from "../../test/support/fixtures/user-home-fixture.js";
import { loadBottle } from "./load-bottle.js";

// A valid ed25519 public key line (made-up key bytes; the blob is well formed).
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3Ey9LZ";
const HINT =
  "`claude-bottle docs manifests` describes every key; `claude-bottle init` writes complete examples";

const homes = useUserHomes();

const bottleError = (files: Record<string, string>) => loadError(homes, files);

/** The message of loading bottle "dev" written as `text`. */
async function bottleMessage(text: string): Promise<string> {
  return (await bottleError({ [`${B}/dev.md`]: text })).message;
}

describe("loadBottle: malformed bottles, each with its exact message", () => {
  const git = (entry: string) => `---\ngit:\n  - name: origin\n${entry}---\n`;

  /** A bottle whose egress routes are these hosts, each with its auth in YAML flow style. */
  const routes = (...entries: [host: string, auth: string][]) =>
    `---\negress:\n  routes:\n${entries.map(([host, auth]) => `    - host: ${host}\n      auth: ${auth}\n`).join("")}---\n`;

  const malformed: { name: string; text: string; message: string[] }[] = [
    {
      name: "unknown key, with did-you-mean",
      text: "---\negres:\n  allow: [a.example.test]\n---\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:2:1: egres: unknown key "egres" (did you mean "egress"?)',
      ],
    },
    {
      name: "wrong type",
      text: "---\nsupervise: yes\negress:\n  allow: api.example.test\n---\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:2:1: supervise: expected true or false, got the string "yes"',
        '~/.claude-bottle/bottles/dev.md:4:3: egress.allow: expected a list, got the string "api.example.test"',
      ],
    },
    {
      name: "a secret written as a literal env value",
      text: "---\nenv:\n  GITHUB_TOKEN: ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5\n  DB_PASSWORD: Zq8vR2xL9mW4tY7kP3nB6hJ1\n---\n",
      message: [
        "~/.claude-bottle/bottles/dev.md:3:3: env.GITHUB_TOKEN: the value looks like a GitHub token; never write secrets in a manifest: export it on the host and write GITHUB_TOKEN: {from_env: GITHUB_TOKEN}",
        "~/.claude-bottle/bottles/dev.md:4:3: env.DB_PASSWORD: the value looks like a secret; never write secrets in a manifest: export it on the host and write DB_PASSWORD: {from_env: DB_PASSWORD}",
      ],
    },
    {
      name: "a pasted token is never echoed back",
      text: "---\negress:\n  dlp: xoxb-1234567890-abcdefghij\n  allow: [ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5]\n---\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:3:3: egress.dlp: "[secret]" is not one of block, warn',
        '~/.claude-bottle/bottles/dev.md:4:11: egress.allow[0]: "[secret]" is not a valid hostname, e.g. api.example.test or *.example.test',
      ],
    },
    {
      name: "a secret where the name of a host variable is required",
      text: `---
egress:
  routes:
    - host: api.example.test
      auth:
        scheme: Bearer
        token_env: sk-ant-api03-aB3dE5fG7hJ9kL1mN3pQ5rS7tU9v
---
`,
      message: [
        "~/.claude-bottle/bottles/dev.md:7:9: egress.routes[0].auth.token_env: holds an Anthropic API key, not the name of a host variable; never write secrets in a manifest: export the secret on the host (e.g. export API_TOKEN=…) and write its name here",
      ],
    },
    {
      name: "bad route auth scheme, with did-you-mean",
      text: routes(["api.example.test", "{scheme: bearer, token_env: API_TOKEN}"]),
      message: [
        '~/.claude-bottle/bottles/dev.md:5:14: egress.routes[0].auth.scheme: "bearer" is not one of Bearer, Basic, token, x-api-key (did you mean "Bearer"?)',
      ],
    },
    {
      name: "a route host with a wildcard",
      text: routes(['"*.example.test"', "{scheme: Bearer, token_env: A_TOKEN}"]),
      message: [
        '~/.claude-bottle/bottles/dev.md:4:7: egress.routes[0].host: "*.example.test": a route names one hostname, without wildcard or port, e.g. api.example.test',
      ],
    },
    {
      name: "two routes for one host",
      text: routes(
        ["api.example.test", "{scheme: Bearer, token_env: A_TOKEN}"],
        ["api.example.test", "{scheme: Basic, token_env: B_TOKEN}"],
      ),
      message: [
        '~/.claude-bottle/bottles/dev.md:6:7: egress.routes[1].host: "api.example.test" already has a route, egress.routes[0]; one route per host: merge them',
      ],
    },
    {
      name: "an https:// URL where ssh:// is required",
      text: git(
        `    url: https://git.example.test/team/app.git\n    identity_file: ~/.ssh/id\n    known_host_key: ${HOST_KEY}\n`,
      ),
      message: [
        '~/.claude-bottle/bottles/dev.md:4:5: git[0].url: "https://git.example.test/team/app.git" is not an ssh:// URL; the gate pushes over SSH only: write ssh://git@git.example.test/team/app.git',
      ],
    },
    {
      name: "an identity file that does not exist",
      text: git(
        `    url: ssh://git@git.example.test/team/app.git\n    identity_file: ~/.ssh/missing\n    known_host_key: ${HOST_KEY}\n`,
      ),
      message: [
        "~/.claude-bottle/bottles/dev.md:5:5: git[0].identity_file: ~/.ssh/missing does not exist; fix the path, or create the key with ssh-keygen -t ed25519 -f ~/.ssh/missing",
      ],
    },
    {
      name: "a git upstream missing a required key",
      text: "---\ngit:\n  - name: origin\n    url: ssh://git.example.test/r.git\n---\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:3:5: git[0].identity_file: required key "identity_file" is missing',
        '~/.claude-bottle/bottles/dev.md:3:5: git[0].known_host_key: required key "known_host_key" is missing',
      ],
    },
    {
      name: "front matter that is never closed",
      text: "---\nsupervise: true\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:1:1: front matter is not closed: add a line "---" after the YAML keys',
      ],
    },
    {
      name: "bad dlp action",
      text: "---\negress:\n  dlp: log\n---\n",
      message: ['~/.claude-bottle/bottles/dev.md:3:3: egress.dlp: "log" is not one of block, warn'],
    },
    {
      name: "bad env var names",
      text: "---\nenv:\n  my-var: x\n  2FA: y\n---\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:3:3: env.my-var: "my-var" is not a variable name: use letters, digits and "_", not starting with a digit (did you mean "my_var"?)',
        '~/.claude-bottle/bottles/dev.md:4:3: env.2FA: "2FA" is not a variable name: use letters, digits and "_", not starting with a digit (did you mean "_2FA"?)',
      ],
    },
    {
      name: "a misspelt from_env, and an env value of the wrong shape",
      text: "---\nenv:\n  TEAM: {form_env: TEAM_NAME}\n  LIST: [a, b]\n---\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:3:10: env.TEAM.form_env: unknown key "form_env" (did you mean "from_env"?)',
        "~/.claude-bottle/bottles/dev.md:4:3: env.LIST: must be a literal (a string, number or boolean) or {from_env: HOST_VARIABLE}",
      ],
    },
    {
      name: "a runtime with both image and dockerfile, and a relative dockerfile",
      text: "---\nruntime:\n  image: team/agent:1\n  dockerfile: images/agent.Dockerfile\n---\n",
      message: [
        "~/.claude-bottle/bottles/dev.md:2:1: runtime: give exactly one of image: NAME or dockerfile: PATH",
        '~/.claude-bottle/bottles/dev.md:4:3: runtime.dockerfile: "images/agent.Dockerfile" must be an absolute path or start with ~/',
      ],
    },
    {
      name: "a front matter that is a list",
      text: "---\n- egress\n---\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:2:1: the front matter must be "key: value" lines, got a list',
      ],
    },
    {
      name: "refuses a bound no DNS label could meet, and unknown keys",
      text: "---\negress:\n  wildcard_labels: {max_length: 64, random_min_length: 0, entropy: 3}\n---\n",
      message: [
        "~/.claude-bottle/bottles/dev.md:3:21: egress.wildcard_labels.max_length: must be a whole number from 1 to 63 (a DNS label holds at most 63 characters)",
        "~/.claude-bottle/bottles/dev.md:3:37: egress.wildcard_labels.random_min_length: must be a whole number from 1 to 253 (a name holds at most 253)",
        '~/.claude-bottle/bottles/dev.md:3:59: egress.wildcard_labels.entropy: unknown key "entropy" (allowed here: max_length, random_min_length)',
      ],
    },
  ];

  it.each(malformed)("$name", async ({ text, message }) => {
    expect(await bottleMessage(text)).toBe(message.join("\n"));
  });

  const withHints: { name: string; text: string; message: string[]; hint: string }[] = [
    {
      name: "unknown nested keys, with and without a near miss",
      text: "---\negress:\n  alow: [a.example.test]\n  colour: red\n---\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:3:3: egress.alow: unknown key "alow" (did you mean "allow"?)',
        '~/.claude-bottle/bottles/dev.md:4:3: egress.colour: unknown key "colour" (allowed here: allow, allow_ips, routes, dlp, wildcard_labels, wildcard_names, rate_limit)',
      ],
      hint: HINT,
    },
    {
      name: "bad YAML syntax, with its line",
      text: "---\negress:\n  allow: [api.example.test\nsupervise: true\n---\n",
      message: [
        "~/.claude-bottle/bottles/dev.md:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
      ],
      hint: "fix the syntax at that line; strings with ':' or '#' need quotes",
    },
    {
      name: "an unquoted wildcard, which YAML reads as an alias",
      text: "---\negress:\n  allow:\n    - api.example.test\n    - *.example.test\n---\n",
      message: [
        "~/.claude-bottle/bottles/dev.md:5:7: Unresolved alias (the anchor must be set before the alias): .example.test",
      ],
      hint: 'a value starting with "*" is read as an alias: quote it, e.g. "*.example.com"',
    },
    {
      name: "missing front matter",
      text: "# dev\n\nsupervise: true\n",
      message: [
        '~/.claude-bottle/bottles/dev.md:1:1: missing front matter: the first line must be "---"',
      ],
      hint: 'a manifest starts with a line "---", then its YAML keys, then a line "---"',
    },
  ];

  it.each(withHints)("$name", async ({ text, message, hint }) => {
    const error = await bottleError({ [`${B}/dev.md`]: text });
    expect(error.message).toBe(message.join("\n"));
    expect(error.hint).toBe(hint);
  });

  it("bad host patterns of several kinds", async () => {
    const text = `---
egress:
  allow:
    - "*"
    - "*.com"
    - https://api.example.test/v1
    - foo.*.example.test
    - 198.51.100.4
    - api.example.test:99999
    - exa_mple.test
  allow_ips:
    - db.example.test
---
`;
    const at = (line: number, col: number) => `~/.claude-bottle/bottles/dev.md:${line}:${col}`;
    expect(await bottleMessage(text)).toBe(
      [
        `${at(4, 7)}: egress.allow[0]: "*" would allow every host; list the hosts the agent needs, e.g. api.example.test or *.example.test`,
        `${at(5, 7)}: egress.allow[1]: "*.com" is too broad: a wildcard needs at least two labels after "*.", e.g. *.example.com`,
        `${at(6, 7)}: egress.allow[2]: "https://api.example.test/v1" is a URL; write the host only, without "https://": api.example.test`,
        `${at(7, 7)}: egress.allow[3]: "foo.*.example.test": "*" may only stand for the whole first label, as in *.example.com`,
        `${at(8, 7)}: egress.allow[4]: "198.51.100.4" is an IP address; list IP addresses under egress.allow_ips so that each one is allowed on purpose`,
        `${at(9, 7)}: egress.allow[5]: "api.example.test:99999" has a bad port; a port is a number from 1 to 65535, as in api.example.test:8443`,
        `${at(10, 7)}: egress.allow[6]: "exa_mple.test" is not a valid hostname, e.g. api.example.test or *.example.test`,
        `${at(12, 7)}: egress.allow_ips[0]: "db.example.test" is not an IP address; hostnames and wildcards belong in egress.allow, addresses here look like 203.0.113.7 or [2001:db8::1]:443`,
      ].join("\n"),
    );
  });

  it("known_host_key that does not parse, three ways", async () => {
    const entry = (key: string) =>
      `  - name: n${key.length}\n    url: ssh://git.example.test/r.git\n    identity_file: /etc/hostname\n    known_host_key: "${key}"\n`;
    expect(
      await bottleMessage(
        `---\ngit:\n${entry("git.example.test ssh-ed25519 AAAA")}${entry("ssh-ed25519 not*base64")}${entry(
          "ssh-ed25519 AAAAB3NzaC1yc2EAAAAgAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=",
        )}---\n`,
      ),
    ).toBe(
      [
        '~/.claude-bottle/bottles/dev.md:6:5: git[0].known_host_key: starts with "git.example.test" before the key type; copy the key line from `ssh-keyscan -t ed25519 HOST`, without the host name',
        "~/.claude-bottle/bottles/dev.md:10:5: git[1].known_host_key: the ssh-ed25519 key is not valid base64; copy the key line from `ssh-keyscan -t ed25519 HOST`, without the host name",
        "~/.claude-bottle/bottles/dev.md:14:5: git[2].known_host_key: the key data does not hold a ssh-ed25519 key; copy the key line from `ssh-keyscan -t ed25519 HOST`, without the host name",
      ].join("\n"),
    );
  });

  it("duplicate git names", async () => {
    const entry = `    url: ssh://git.example.test/r.git\n    identity_file: /etc/hostname\n    known_host_key: ${HOST_KEY}\n`;
    expect(
      await bottleMessage(`---\ngit:\n  - name: origin\n${entry}  - name: origin\n${entry}---\n`),
    ).toBe(
      '~/.claude-bottle/bottles/dev.md:7:5: git[1].name: "origin" is already the name of git[0]; give each upstream its own name',
    );
  });

  it("an env var the bottle sets itself, and a reference that would not expand", async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the manifest holds this text literally
    const reference = "${HOME}";
    expect(
      await bottleMessage(
        `---\nenv:\n  HTTPS_PROXY: http://proxy.example.test\n  HOME_DIR: ${reference}\n---\n`,
      ),
    ).toBe(
      [
        "~/.claude-bottle/bottles/dev.md:3:3: env.HTTPS_PROXY: is set by the bottle itself (proxy and CA trust); remove it",
        `~/.claude-bottle/bottles/dev.md:4:3: env.HOME_DIR: "${reference}" is not expanded; to pass a host variable write HOME_DIR: {from_env: HOME}`,
      ].join("\n"),
    );
  });
});

describe("loadBottle: egress.wildcard_labels", () => {
  it("defaults, folds key by key through extends, and reaches the resolved bottle", async () => {
    const home = await homes.make({
      [`${B}/base.md`]:
        "---\negress:\n  wildcard_labels: {max_length: 24, random_min_length: 20}\n---\n",
      [`${B}/dev.md`]: "---\nextends: base\negress:\n  wildcard_labels: {max_length: 30}\n---\n",
      [`${B}/plain.md`]: "---\n---\n",
    });
    expect((await loadBottle("dev", home)).egress.wildcardLabels).toEqual({
      maxLength: 30,
      randomMinLength: 20,
    });
    expect((await loadBottle("plain", home)).egress.wildcardLabels).toEqual({
      maxLength: 40,
      randomMinLength: 16,
    });
  });
});

describe("loadBottle: egress.wildcard_names and egress.rate_limit", () => {
  it("defaults, folds through extends (hosts key by key), and reaches the resolved bottle", async () => {
    const home = await homes.make({
      [`${B}/base.md`]:
        "---\negress:\n  wildcard_names: 8\n  rate_limit:\n    per_second: 5\n    hosts:\n" +
        "      - {host: registry.example.test, per_second: 100, burst: 4000}\n---\n",
      [`${B}/dev.md`]:
        "---\nextends: base\negress:\n  rate_limit:\n    burst: 50\n    hosts:\n" +
        "      - {host: registry.example.test, burst: 5000}\n      - {host: '*.cdn.example.test', per_second: 1}\n---\n",
      [`${B}/plain.md`]: "---\n---\n",
    });
    const dev = (await loadBottle("dev", home)).egress;
    expect(dev.wildcardNames).toBe(8);
    expect({
      ...dev.rateLimit,
      hosts: dev.rateLimit.hosts.map(({ declaredAt: _, ...h }) => h),
    }).toEqual({
      perSecond: 5,
      burst: 50,
      hosts: [
        { pattern: "registry.example.test", perSecond: 100, burst: 5000 },
        { pattern: "*.cdn.example.test", perSecond: 1 },
      ],
    });
    const plain = (await loadBottle("plain", home)).egress;
    expect(plain.wildcardNames).toBe(32);
    expect(plain.rateLimit).toEqual({ perSecond: 20, burst: 1000, hosts: [] });
  });

  it("refuses rates, bursts, budgets and hosts that cannot be, naming line and key", async () => {
    expect(
      await bottleMessage(
        "---\negress:\n  wildcard_names: 1.5\n  rate_limit:\n    per_second: 0\n    burst: 2.5\n" +
          "    hosts:\n      - {host: 'http://x.test'}\n      - {host: a.test}\n---\n",
      ),
    ).toMatchInlineSnapshot(`
      "~/.claude-bottle/bottles/dev.md:3:3: egress.wildcard_names: must be a whole number of names from 1 to 100000
      ~/.claude-bottle/bottles/dev.md:5:5: egress.rate_limit.per_second: must be a number of requests per second above 0, at most 100000 (e.g. 20 or 0.5)
      ~/.claude-bottle/bottles/dev.md:6:5: egress.rate_limit.burst: must be a whole number of requests from 1 to 1000000
      ~/.claude-bottle/bottles/dev.md:8:10: egress.rate_limit.hosts[0].host: "http://x.test" is a URL; write the host only, without "http://": x.test
      ~/.claude-bottle/bottles/dev.md:9:9: egress.rate_limit.hosts[1]: give per_second, burst or both for this host (the others come from egress.rate_limit)"
    `);
  });
});

describe("loadBottle: a route whose token goes in a header it names", () => {
  const route = (auth: string) =>
    `---\negress:\n  routes:\n    - host: gen.example.test\n      auth: ${auth}\n---\n`;

  it("resolves to the header scheme with the name lower-cased", async () => {
    const home = await homes.make({
      [`${B}/dev.md`]: route("{header: X-Goog-Api-Key, token_env: GEMINI_API_KEY}"),
    });
    expect((await loadBottle("dev", home)).egress.routes[0]?.auth).toEqual({
      scheme: "header",
      header: "x-goog-api-key",
      tokenEnv: "GEMINI_API_KEY",
    });
  });

  it.each([
    ["Host", "frames or routes the request"],
    ["Content-Length", "frames or routes the request"],
    ["transfer-encoding", "frames or routes the request"],
    ["Connection", "frames or routes the request"],
    ["Proxy-Authorization", "frames or routes the request"],
    ["proxy-x", "frames or routes the request"],
    ['"x goog key"', "is not a header name"],
    ['"x-key:"', "is not a header name"],
  ])("refuses header %s with a clear reason", async (header, reason) => {
    const message = await bottleMessage(route(`{header: ${header}, token_env: GEMINI_API_KEY}`));
    expect(message).toContain("egress.routes[0].auth.header: ");
    expect(message).toContain(reason);
  });

  it("takes exactly one of scheme and header", async () => {
    const both = await bottleMessage(
      route("{scheme: Bearer, header: x-goog-api-key, token_env: GEMINI_API_KEY}"),
    );
    const neither = await bottleMessage(route("{token_env: GEMINI_API_KEY}"));
    for (const message of [both, neither]) {
      expect(message).toBe(
        "~/.claude-bottle/bottles/dev.md:5:7: egress.routes[0].auth: give exactly one of scheme: (Bearer, Basic, token or x-api-key) or header: NAME (the token is the whole value, e.g. header: x-goog-api-key)",
      );
    }
  });
});

describe("loadBottle: agent", () => {
  it("takes a provider, or a provider with a pinned version, folded through extends", async () => {
    const home = await homes.make({
      [`${B}/base.md`]: "---\nagent: {provider: codex, version: 0.170.2}\n---\n",
      [`${B}/same.md`]: "---\nextends: base\nsupervise: false\n---\n",
      [`${B}/other.md`]: "---\nextends: base\nagent: gemini\n---\n",
      [`${B}/plain.md`]: "---\n---\n",
    });
    expect(await loadBottle("same", home)).toMatchObject({
      agent: "codex",
      agentVersion: "0.170.2",
    });
    // A version belongs to the provider named with it.
    const other = await loadBottle("other", home);
    expect(other.agent).toBe("gemini");
    expect(other.agentVersion).toBeUndefined();
    const plain = await loadBottle("plain", home);
    expect([plain.agent, plain.agentVersion]).toEqual(["claude", undefined]);
  });

  it.each([
    ["agent: cursor", 'agent: "cursor" is not one of claude, codex, gemini'],
    ["agent: {provider: codex, version: latest}", "agent.version: must be a version like 1.2.3"],
    [
      "agent: {provider: codex, version: '1.2.3; rm -rf /'}",
      "agent.version: must be a version like 1.2.3",
    ],
    [
      "agent: {provider: codex, version: 1.2.3/../x}",
      "agent.version: must be a version like 1.2.3",
    ],
    ["agent: {version: 1.2.3}", "agent"],
  ])("refuses %s", async (line, message) => {
    expect(await bottleMessage(`---\n${line}\n---\n`)).toContain(message);
  });
});
