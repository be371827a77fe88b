// The demo's last step: the real Claude Code, headless in the demo bottle, against a
// stand-in Anthropic API (model-standin-server.mjs) that scripts its turns as shell commands.
// Its program comes from the host's agent cache, fetched with the host's npm when it is
// missing; when it can be neither found nor fetched the step says so and is skipped.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { agentCacheRoot, ensureAgentPackage } from "../agents/agent-package.js";
import type { LaunchContext } from "../backend/start-plan.js";
import type { CaPem } from "../shared/ca/index.js";
import { DEMO_HOSTS, DEMO_PLACEHOLDER_KEY } from "./demo-manifests.js";
import type { DemoRig, DemoStepResult } from "./demo-steps.js";
import { startHttpsStub, writeStubCerts } from "./demo-stubs.js";

const TITLE = "the real Claude Code runs headless in the bottle against a stand-in model API";
const FINAL = "Demo done.";
/** The model's script: an allowed call, a refused one, then its final answer. */
const TURNS = [
  { shell: `curl -sS -m 15 https://${DEMO_HOSTS.docs}/hello` },
  { shell: `curl -sS -m 15 https://${DEMO_HOSTS.unlisted}/ -w '\\nHTTP:%{http_code}'` },
  { text: FINAL },
];
const RECORD = "/tmp/model-requests.jsonl";

/**
 * The agent cache the demo bottle mounts Claude Code from: the user's, filled first when it
 * lacks the program. Null, with the reason, when it cannot be had.
 */
export async function claudeCodeCache(
  launch: LaunchContext,
): Promise<{ cache: string; skipped: null } | { cache: null; skipped: string }> {
  try {
    await ensureAgentPackage({
      provider: "claude",
      home: launch.home,
      env: launch.env,
      progress: launch.progress,
    });
    return { cache: agentCacheRoot(launch.home, launch.env), skipped: null };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return {
      cache: null,
      skipped: `Claude Code is not cached and could not be fetched: ${reason}`,
    };
  }
}

export function skippedClaudeCode(reason: string): DemoStepResult {
  return { title: TITLE, ok: true, skipped: true, detail: `skipped: ${reason}` };
}

/** Starts the stand-in model API on the bottle's egress network; returns its container. */
export async function startClaudeStandIn(
  launch: LaunchContext,
  options: { dir: string; ca: CaPem; network: string; name: string },
): Promise<string> {
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const certsFile = await writeStubCerts(
    options.dir,
    options.ca,
    [DEMO_HOSTS.claude],
    launch.now(),
  );
  await writeFile(join(options.dir, "script.json"), JSON.stringify({ turns: TURNS }));
  return startHttpsStub(launch.docker, {
    name: options.name,
    network: options.network,
    hostnames: [DEMO_HOSTS.claude],
    serverScript: join(launch.buildContext, "dist/demo/model-standin-server.mjs"),
    certsFile,
    env: {
      STANDIN_CERTS: "/srv/certs.json",
      STANDIN_SCRIPT: "/srv/script.json",
      STANDIN_RECORD: RECORD,
      STANDIN_HTTP_PORT: "0",
    },
  });
}

interface Recorded {
  provider: string | null;
  headers: Record<string, string>;
  body?: { messages?: Array<{ content?: unknown }> };
}

/** How often the Claude step says what it is doing while the program works. */
const PROGRESS_EVERY_MS = 15_000;

export async function realClaudeCode(
  rig: DemoRig,
  standIn: string,
  progress: (line: string) => void = () => {},
): Promise<DemoStepResult> {
  progress("running the real Claude Code in the bottle (a minute or more on a slow machine)…");
  const started = Date.now();
  // The program is silent until it ends; the stand-in's record says how far it got.
  const ticker = setInterval(() => {
    void rig.docker
      .run(["exec", standIn, "sh", "-c", `wc -l < ${RECORD}`], { allowFailure: true })
      .then((r) => {
        const seconds = Math.round((Date.now() - started) / 1000);
        const requests = Number.parseInt(r.stdout.trim(), 10);
        progress(
          `Claude Code is working: ${Number.isNaN(requests) ? 0 : requests} model request(s) so far, ${seconds} s`,
        );
      });
  }, PROGRESS_EVERY_MS);
  const run = await rig.docker
    .run(
      [
        "exec",
        "-u",
        "agent",
        "-w",
        "/home/agent/work",
        "-e",
        `ANTHROPIC_BASE_URL=https://${DEMO_HOSTS.claude}`,
        "-e",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
        "-e",
        "ENABLE_TOOL_SEARCH=false",
        rig.agentContainer,
        "sh",
        "-lc",
        "claude -p 'Run the commands the task gives you.' --dangerously-skip-permissions --output-format json </dev/null",
      ],
      { allowFailure: true },
    )
    .finally(() => clearInterval(ticker));
  const log = await rig.docker.run(["exec", standIn, "cat", RECORD], { allowFailure: true });
  const requests = log.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Recorded)
    .filter((r) => r.provider === "anthropic");
  const answer = finalAnswer(run.stdout);
  const keyed = requests.length > 0 && requests.every((r) => r.headers["x-api-key"] === rig.token);
  const results = JSON.stringify(requests.at(-1)?.body?.messages ?? []);
  const refusalSeen = results.includes("is not on this bottle") && results.includes("HTTP:403");
  const allowedSeen = results.includes('\\"ok\\":true');
  const leaked = run.stdout.includes(rig.token) || results.includes(rig.token);
  const ok =
    run.exitCode === 0 && answer === FINAL && keyed && refusalSeen && allowedSeen && !leaked;
  return {
    title: TITLE,
    ok,
    detail: ok
      ? `${requests.length} model requests, each with the real key only on the stand-in's side (the agent held "${DEMO_PLACEHOLDER_KEY}"); its shell reached ${DEMO_HOSTS.docs} and read the refusal of ${DEMO_HOSTS.unlisted}`
      : `exit ${run.exitCode}, answer ${JSON.stringify(answer)}, ${requests.length} requests, key on all: ${keyed}, saw 200: ${allowedSeen}, saw the refusal: ${refusalSeen}${leaked ? ", THE KEY REACHED THE AGENT" : ""}; ${lastLine(run.stderr || run.stdout)}`,
  };
}

function finalAnswer(stdout: string): string | null {
  try {
    return (JSON.parse(stdout) as { result?: string }).result ?? null;
  } catch {
    return null;
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}
