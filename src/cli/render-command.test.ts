// `render` from manifests on disk to files, without Docker: the Compose file `start
// --dry-run` shows, the Kubernetes directory, and clear errors for what it cannot render.
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { cliHomePerTest, refusingDocker } from "../../test/support/unit/cli-home.js";
import { runCliWith } from "../../test/support/unit/run-cli.js";

const CANARY_TOKEN = "canary-token-7Qz9vX2mL4pR8sT1";
const CANARY_FORWARDED = "canary-forwarded-Hk3Wd8Jn5Ys";
const CANARY_KEY = "canary-deploy-key-Pq6Rt2Vw9Zb";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH2nq0ihOxHhOWxEHkPrGrRL0xOBbtVeZSX+w+y9pGzK";

describe("render", () => {
  const { root, home } = cliHomePerTest("cb-render-");
  let calls: string[][];

  beforeEach(async () => {
    calls = [];
    const key = join(root(), "deploy_ed25519");
    await writeFile(
      key,
      `-----BEGIN OPENSSH PRIVATE KEY-----\n${CANARY_KEY}\n-----END OPENSSH PRIVATE KEY-----\n`,
      { mode: 0o600 },
    );
    await writeFile(join(home(), "agents/full.md"), "---\nbottle: full\n---\nprompt\n");
    await writeFile(
      join(home(), "bottles/full.md"),
      `---
agent: claude
env:
  TZ: UTC
  FORWARDED: { from_env: HOST_FORWARDED }
egress:
  allow: [docs.example.test]
  routes:
    - host: api.example.test
      auth: { scheme: Bearer, token_env: API_TOKEN }
git:
  - name: app
    url: ssh://git@git.example.test:2222/team/app.git
    identity_file: ${key}
    known_host_key: ${HOST_KEY}
supervise: true
---
`,
    );
  });

  function render(...args: string[]) {
    const changes = {
      docker: refusingDocker(calls),
      cwd: root(),
      suffix: () => "7f3a",
      env: {
        HOME: root(),
        CLAUDE_BOTTLE_HOME: home(),
        PATH: process.env.PATH ?? "",
        API_TOKEN: CANARY_TOKEN,
        HOST_FORWARDED: CANARY_FORWARDED,
      },
      stdinIsTty: false,
    };
    return runCliWith(changes, "render", ...args);
  }

  it("prints the compose file start --dry-run would write", async () => {
    const { code, stdout } = await render("full");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^name: claude-bottle-full-7f3a\nservices:\n {2}pipelock:/);
    expect(stdout).not.toContain(CANARY_TOKEN);
    expect(calls).toEqual([]);
  });

  it("prints the Swarm stack file: images by ID, secrets by reference, no bind", async () => {
    const { code, stdout } = await render("--backend", "swarm", "full");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^# Each image is named by its ID/);
    expect(stdout).toContain("endpoint_mode: dnsrr");
    expect(stdout).toMatch(/image: sha256:0{64}/);
    expect(stdout).toContain("external: true");
    expect(stdout).not.toContain("type: bind");
    for (const canary of [CANARY_TOKEN, CANARY_FORWARDED, CANARY_KEY]) {
      expect(stdout).not.toContain(canary);
    }
    expect(calls).toEqual([]);
  });

  it("writes a Kubernetes directory that holds no secret value, keys 0600", async () => {
    const { code, stderr } = await render("--backend", "kubernetes", "full");
    expect(code).toBe(0);
    const dir = join(root(), "claude-bottle-k8s-full-7f3a");
    const names = (await readdir(dir)).sort();
    expect(names).toEqual([
      "00-namespace.yaml",
      "10-network-policies.yaml",
      "20-config-maps.yaml",
      "30-ca-keys.yaml",
      "40-services.yaml",
      "50-agent.yaml",
      "50-egress.yaml",
      "50-git-gate.yaml",
      "50-pipelock.yaml",
      "50-supervise.yaml",
      "apply.sh",
    ]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "30-ca-keys.yaml"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "apply.sh"))).mode & 0o777).toBe(0o700);
    for (const name of names) {
      const text = await readFile(join(dir, name), "utf8");
      for (const canary of [CANARY_TOKEN, CANARY_FORWARDED, CANARY_KEY]) {
        expect(text, `${name} holds ${canary}`).not.toContain(canary);
      }
    }
    for (const canary of [CANARY_TOKEN, CANARY_FORWARDED, CANARY_KEY]) {
      expect(stderr).not.toContain(canary);
    }
    expect(stderr).toContain("30-ca-keys.yaml  (0600: the bottle's CA private keys");
    expect(stderr).toContain("egress-env: EGRESS_TOKEN_0 from $API_TOKEN\n");
    expect(calls).toEqual([]);
  });

  it("prints one JSON List with --json, without a secret value", async () => {
    const { code, stdout } = await render("--backend", "kubernetes", "--json", "full");
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as { kind: string; items: Array<{ kind: string }> };
    expect(list.kind).toBe("List");
    expect(new Set(list.items.map((i) => i.kind))).toEqual(
      new Set(["Namespace", "NetworkPolicy", "ConfigMap", "Secret", "Service", "Pod"]),
    );
    for (const canary of [CANARY_TOKEN, CANARY_FORWARDED, CANARY_KEY]) {
      expect(stdout).not.toContain(canary);
    }
  });

  it("the gate's rules come from the environment at apply time", async () => {
    const { code, stdout } = await render("--gate-rules-from-env", "API_TOKEN");
    expect(code).toBe(0);
    expect(stdout).toContain('description = "a secret this bottle holds (API_TOKEN)"');
  });

  it("refuses an unknown backend with a suggestion, no stack", async () => {
    const { code, stderr } = await render("--backend", "kubernets", "full");
    expect(code).toBe(2);
    expect(stderr).toBe(
      'claude-bottle: unknown backend "kubernets" (did you mean "kubernetes"?)\n  hint: render one of: compose, swarm, kubernetes\n',
    );
  });

  it("refuses an unknown agent, no stack", async () => {
    const { code, stderr } = await render("--backend", "kubernetes", "nosuch");
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toMatch(/^claude-bottle: .*nosuch/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
