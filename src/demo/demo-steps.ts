// The demo's checks, each run inside the agent container of the demo bottle, each an
// attack or a use that the bottle must answer the right way. A step passes only when the
// bottle behaved: an unexpected success is a failure.
import type { DockerClient } from "../backend/engine/docker-client.js";
import { SUPERVISE_TOOLS } from "../contracts/supervise.js";
import { DEMO_HOSTS } from "./demo-manifests.js";

export interface DemoStepResult {
  title: string;
  ok: boolean;
  /** What was observed, one line. */
  detail: string;
  /** Not run, for the reason in `detail` (counts as behaving: nothing misbehaved). */
  skipped?: boolean;
}

export interface DemoRig {
  docker: DockerClient;
  agentContainer: string;
  httpsStub: string;
  gitStub: string;
  /** The route token's value: checked for absence inside the agent, never sent there. */
  token: string;
}

async function inAgent(rig: DemoRig, script: string) {
  return rig.docker.run(
    ["exec", "-u", "agent", "-w", "/home/agent/work", rig.agentContainer, "sh", "-c", script],
    {
      allowFailure: true,
    },
  );
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

export async function allowlistedCall(rig: DemoRig): Promise<DemoStepResult> {
  const r = await inAgent(rig, `curl -sS -m 15 -v https://${DEMO_HOSTS.docs}/hello 2>&1`);
  const issuer = /issuer: (.*)/.exec(r.stdout)?.[1] ?? "";
  const ok =
    r.exitCode === 0 && r.stdout.includes('"ok":true') && issuer.includes("claude-bottle pipelock");
  return {
    title: `allowlisted ${DEMO_HOSTS.docs} answers through intercepted TLS`,
    ok,
    detail: ok ? `200, certificate issued by "${issuer.trim()}"` : lastLine(r.stdout),
  };
}

export async function unlistedHost(rig: DemoRig): Promise<DemoStepResult> {
  // HTTPS, as agents reach nearly everything: the refusal's text must reach them there too.
  const r = await inAgent(
    rig,
    `curl -sS -m 15 https://${DEMO_HOSTS.unlisted}/ -w '\\n%{http_code}'`,
  );
  const status = lastLine(r.stdout);
  const ok =
    status === "403" &&
    r.stdout.includes(DEMO_HOSTS.unlisted) &&
    r.stdout.includes(SUPERVISE_TOOLS.requestEgressHost);
  return {
    title: `unlisted ${DEMO_HOSTS.unlisted} is refused`,
    ok,
    detail: ok ? `403: ${r.stdout.trim().split("\n")[0]}` : `status ${status}`,
  };
}

export async function dlpBlocksCredential(rig: DemoRig): Promise<DemoStepResult> {
  // A made-up key of AWS's shape, assembled here so it is never written whole.
  const key = `AKIA${"Q3ZT5Y7U2W4P6N8R"}`;
  const r = await inAgent(
    rig,
    `curl -sS -m 15 -X POST --data 'aws_access_key_id=${key}' https://${DEMO_HOSTS.docs}/upload -w '\\n%{http_code}'`,
  );
  const status = lastLine(r.stdout);
  const uploads = (
    await rig.docker.run([
      "exec",
      rig.httpsStub,
      "sh",
      "-c",
      "grep -c '\"/upload\"' /tmp/requests.jsonl || true",
    ])
  ).stdout.trim();
  const ok = status === "403" && uploads === "0";
  return {
    title: "a credential-shaped POST to an allowed host is blocked by DLP",
    ok,
    detail: ok
      ? `403: ${r.stdout.trim().split("\n")[0]}`
      : `status ${status}, upstream saw ${uploads} upload(s)`,
  };
}

export async function routeInjectsToken(rig: DemoRig): Promise<DemoStepResult> {
  const r = await inAgent(
    rig,
    `curl -sS -m 15 -H 'Authorization: Bearer agent-placeholder' https://${DEMO_HOSTS.model}/v1/messages -d '{}'`,
  );
  const seen = await rig.docker.run([
    "exec",
    rig.httpsStub,
    "sh",
    "-c",
    "grep '\"/v1/messages\"' /tmp/requests.jsonl | tail -n 1",
  ]);
  const authorization =
    seen.stdout.trim() === "" ? "" : (JSON.parse(seen.stdout).headers?.authorization ?? "");
  // Read the agent's environment out and search it here, so the token never enters the agent.
  const env = await inAgent(
    rig,
    "env; cat /proc/1/environ; cat ~/.claude.json ~/.gitconfig 2>/dev/null",
  );
  const leaked = env.stdout.includes(rig.token);
  const ok = r.exitCode === 0 && authorization === `Bearer ${rig.token}` && !leaked;
  return {
    title: `a routed call to ${DEMO_HOSTS.model} carries the real token the agent never saw`,
    ok,
    detail: ok
      ? "upstream saw the injected token; the agent sent a placeholder and holds no copy"
      : leaked
        ? "the token is visible inside the agent"
        : `upstream saw Authorization "${authorization.replace(rig.token, "<token>")}"`,
  };
}

export async function gitPushes(rig: DemoRig): Promise<DemoStepResult[]> {
  const key = `AKIA${"Z7Q3RT5Y2W4P6N8U"}`;
  const clone = await inAgent(
    rig,
    `git clone -q ssh://git@${DEMO_HOSTS.git}/srv/git/app.git app 2>&1 && cd app && git config user.email demo@example.test && git config user.name demo && echo cloned`,
  );
  if (!clone.stdout.includes("cloned")) {
    const detail = `clone through the gate failed: ${lastLine(clone.stdout)}`;
    return [
      { title: "a push of an AWS-shaped key is rejected by gitleaks", ok: false, detail },
      { title: "a clean push lands upstream", ok: false, detail },
    ];
  }
  const secret = await inAgent(
    rig,
    `cd app && printf 'aws_access_key_id = ${key}\\naws_secret_access_key = ${"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"}\\n' > config.ini && git add config.ini && git commit -qm 'add config' && git push origin HEAD 2>&1; echo "exit=$?"`,
  );
  const upstreamAfterSecret = await upstreamHead(rig);
  const rejected = secret.stdout.includes("exit=1") && !upstreamAfterSecret.includes("add config");
  const clean = await inAgent(
    rig,
    "cd app && git reset -q --hard HEAD~1 && echo 'a clean change' >> README.md && git commit -qam 'a clean change' && git push -q origin HEAD 2>&1; echo \"exit=$?\"",
  );
  const landed =
    clean.stdout.includes("exit=0") && (await upstreamHead(rig)).includes("a clean change");
  const finding =
    secret.stdout.split("\n").find((l) => /rule|gitleaks|secret/i.test(l)) ??
    lastLine(secret.stdout);
  return [
    {
      title: "a push of an AWS-shaped key is rejected by gitleaks",
      ok: rejected,
      detail: rejected ? finding.replace(/^remote:\s*/, "").trim() : "the push was not rejected",
    },
    {
      title: "a clean push lands upstream",
      ok: landed,
      detail: landed
        ? `upstream main: ${(await upstreamHead(rig)).trim()}`
        : lastLine(clean.stdout),
    },
  ];
}

async function upstreamHead(rig: DemoRig): Promise<string> {
  const r = await rig.docker.run(
    ["exec", rig.gitStub, "git", "--git-dir=/srv/git/app.git", "log", "--oneline", "-1", "main"],
    { allowFailure: true },
  );
  return r.stdout;
}
