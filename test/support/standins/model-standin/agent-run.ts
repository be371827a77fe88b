// One headless run of a real agent program in a real bottle, driven by the model stand-in:
// `claude-bottle start <agent> --yes --exec '…'` as a user would run it, with the stand-in
// answering the model API under a routed .test host, a stand-in for an allowlisted host, a
// git upstream behind git-gate, and supervision on. The exec waits for a go file until the
// stand-ins have joined the bottle's egress network (which exists only once the bottle is
// up), and after the program exits it waits for a done file, so the stand-ins leave that
// network before the CLI brings the bottle down. Meanwhile the test approves, through the
// `claude-bottle supervise` CLI, the host the agent asks for.
//
// The program is the bottle's own (`agent: <provider>`, mounted from the agent cache):
// `start --exec` never fetches, so the run fills the cache first with the host's npm, in a
// cache shared by every run (CLAUDE_BOTTLE_AGENT_CACHE, default ~/.cache/claude-bottle-test).
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAgentPackage } from "../../../../src/agents/agent-package.js";
import type { AgentProvider } from "../../../../src/manifest/resolved-bottle.js";
import { makeTestHome } from "../../cli/cli-process.js";
import type { RunningBottle } from "../../docker/bottle-harness.js";
import { leftoversOf } from "../../docker/docker-state.js";
import { docker } from "../../docker/git-gate-docker.js";
import { makeUpstreamCa } from "../../tls/test-ca.js";
import { APP_URL, gitRemoteYaml, startEscapeGitUpstream } from "../escape-git-upstream.js";
import { escapeLeftovers, newEscapeScope, removeEscapeStandIns } from "../escape-standins.js";
import { type ModelRequest, type ScriptTurn, startModelStandIn } from "./standin.js";

export const HOSTS = {
  /** The stand-in model API, behind a route: egress adds the real key. */
  model: "model.standin.test",
  /** Allowlisted; answered by the stand-in with 200. */
  allowed: "allowed.standin.test",
  /** Never allowlisted (the stand-in answers it too, so a leak would be recorded, not lost). */
  unlisted: "unlisted.standin.test",
  /** Allowlisted only once the agent asks through supervise and the test approves. */
  later: "later.standin.test",
} as const;

/** The placeholder the agent holds for the model key: a literal in the bottle's env. */
export const PLACEHOLDER_KEY = "standin-placeholder-model-key";

/** How one program is pointed at the stand-in and run headless. */
export interface AgentSetup {
  /** The bottle's `agent:`; its package is mounted into the bottle from the agent cache. */
  program: AgentProvider;
  /** Literal env values the bottle gives the agent (base URL, placeholder key, switches). */
  env: Record<string, string>;
  /** The route's `auth:` as YAML flow, holding the token from CB_MODEL_KEY. */
  routeAuth: string;
  /** Shell run as the agent first, in ~/work: adds to the program's own config files. */
  prepare: string;
  /** The headless run, prompt included. */
  command: string;
  /**
   * Shell put before the scripted clone and push, for a program whose shell tool changes
   * git's environment (Gemini CLI hides ~/.gitconfig, where the bottle's rewrite to the
   * gate lives, and empties core.sshCommand): what a model would run to undo that.
   */
  gitPrefix?: string;
}

export const PROMPT = "Follow the scripted steps.";
const GIT = "git -c user.name=Agent -c user.email=agent@example.test";

/** What each run asks of the agent, in order: the tests read turn i's result by index. */
export const TURNS = {
  allowed: 0,
  unlisted: 1,
  env: 2,
  ask: 3,
  retry: 4,
  push: 5,
} as const;

/** `gitPrefix` runs before the clone and push (see AgentSetup.gitPrefix). */
export function standardTurns(pushMarker: string, gitPrefix = ""): ScriptTurn[] {
  return [
    {
      shell: `curl -sS -m 20 https://${HOSTS.allowed}/hello -w ' CONNECT:%{http_connect} HTTP:%{http_code}' 2>&1`,
    },
    {
      // Plain HTTP shows the refusal's body; HTTPS only the refused CONNECT.
      shell:
        `curl -sS -m 20 http://${HOSTS.unlisted}/hello -w ' HTTP:%{http_code}' 2>&1; echo; ` +
        `curl -sS -m 20 https://${HOSTS.unlisted}/hello -w ' CONNECT:%{http_connect} HTTP:%{http_code}' 2>&1`,
    },
    { shell: "env | sort" },
    {
      tool: "request_egress_host",
      args: { host: HOSTS.later, reason: "the task needs its status page" },
    },
    {
      shell: `curl -sS -m 20 https://${HOSTS.later}/status -w ' CONNECT:%{http_connect} HTTP:%{http_code}' 2>&1`,
    },
    {
      shell:
        `${gitPrefix}cd ~/work && git clone -q ${APP_URL} app 2>&1 && cd app && echo '${pushMarker}' >>README.md && ` +
        `${GIT} commit -qam '${pushMarker}' && git push origin HEAD 2>&1; echo PUSH-EXIT:$?`,
    },
    { text: "All steps done." },
  ];
}

export interface AgentRunResult {
  key: string;
  pushMarker: string;
  slug: string;
  cli: { code: number | null; stdout: string; stderr: string };
  /** The program's own stdout, stderr and exit code inside the bottle. */
  agent: { code: number; stdout: string; stderr: string };
  requests: ModelRequest[];
  /** The proposal the test approved, or null if none came. */
  approved: { id: string; host: string } | null;
  /** `git log` of the upstream's main branch after the run (subjects). */
  upstreamLog: string;
  /** Containers, networks and volumes of the run still on the engine. */
  leftovers: string[];
}

/** A proposal as `claude-bottle supervise --json` lists it (the fields read here). */
interface ListedProposal {
  id: string;
  status: string;
  request?: { kind?: string; host?: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The agent cache every test run shares (CLAUDE_BOTTLE_AGENT_CACHE, else ~/.cache/claude-bottle-test). */
export function sharedAgentCache(): string {
  return (
    process.env.CLAUDE_BOTTLE_AGENT_CACHE ??
    join(homedir(), ".cache", "claude-bottle-test", "agents")
  );
}

export async function runRealAgent(setup: AgentSetup): Promise<AgentRunResult> {
  const key = `cbtest-real-model-key-${randomBytes(12).toString("hex")}`;
  const pushMarker = `standin-push-${randomBytes(4).toString("hex")}`;
  const scope = newEscapeScope();
  const t = await makeTestHome();
  const ca = await makeUpstreamCa();
  const dir = await mkdtemp(join(tmpdir(), "cb-real-agent-"));
  let slug = "";
  let cliExit: Promise<void> | undefined;
  const agentCache = sharedAgentCache();
  try {
    await ensureAgentPackage({
      provider: setup.program,
      home: t.home,
      env: { CLAUDE_BOTTLE_AGENT_CACHE: agentCache },
      progress: () => {},
    });
    const upstream = await startEscapeGitUpstream(scope, dir);
    const env = Object.entries(setup.env)
      .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
      .join("\n");
    await t.writeManifest(
      "bottles",
      "real",
      `---
env:
${env}
agent: ${setup.program}
egress:
  allow: [${HOSTS.allowed}]
  routes:
    - host: ${HOSTS.model}
      auth: ${setup.routeAuth}
${gitRemoteYaml(upstream)}
supervise: true
---
`,
    );
    await t.writeManifest("agents", "real", "---\nbottle: real\n---\nFollow the steps.\n");
    const exec =
      "until [ -e /tmp/standin-go ]; do sleep 1; done; cd ~/work && " +
      `{ ${setup.prepare}; } && ${setup.command} </dev/null >/tmp/agent-out 2>/tmp/agent-err; ` +
      "echo $? >/tmp/agent-rc; until [ -e /tmp/standin-done ]; do sleep 1; done";
    const cli = t.spawn(["start", "real", "--yes", "--exec", exec], {
      CB_MODEL_KEY: key,
      CLAUDE_BOTTLE_UPSTREAM_CA: ca.caFile,
      CLAUDE_BOTTLE_AGENT_CACHE: agentCache,
    });
    cliExit = new Promise((resolve) => {
      if (cli.exitCode !== null) resolve();
      else cli.on("exit", () => resolve());
    });
    const started = Date.now();
    while (!cli.output().stderr.includes("running: ")) {
      if (cli.exitCode !== null) {
        throw new Error(`start exited with ${cli.exitCode}:\n${cli.output().stderr}`);
      }
      if (Date.now() - started > 600_000) throw new Error("the bottle did not start in time");
      await sleep(250);
    }
    slug = /instance\s+(\S+)/.exec(cli.output().stderr)?.[1] ?? "";
    const agentContainer = `claude-bottle-agent-${slug}`;
    const egressNetwork = `claude-bottle-${slug}-egress`;
    const standIn = await startModelStandIn(scope, {
      network: egressNetwork,
      ca,
      hostnames: Object.values(HOSTS),
      turns: standardTurns(pushMarker, setup.gitPrefix),
    });
    await upstream.joinBottle({ egressNetwork } as RunningBottle);
    await docker(["exec", "-u", "0", agentContainer, "touch", "/tmp/standin-go"]);

    let approved: AgentRunResult["approved"] = null;
    const inAgent = (script: string) =>
      docker(["exec", "-u", "0", agentContainer, "sh", "-c", script], { allowFailure: true });
    const deadline = Date.now() + 600_000;
    while ((await inAgent("test -e /tmp/agent-rc")).code !== 0) {
      if (cli.exitCode !== null) throw new Error(`start exited early:\n${cli.output().stderr}`);
      if (Date.now() > deadline) throw new Error("the agent program did not finish in time");
      if (approved === null) {
        const listed = await t.run(["supervise", "--json"]);
        const proposals: ListedProposal[] =
          listed.code === 0 ? JSON.parse(listed.stdout || "[]") : [];
        const pending = proposals.find(
          (p) => p.status === "pending" && p.request?.kind === "egress-host",
        );
        if (pending !== undefined) {
          const decided = await t.run([
            "supervise",
            "approve",
            String(pending.id),
            "--reason",
            "fine for the test",
          ]);
          if (decided.code !== 0) throw new Error(`approve failed:\n${decided.stderr}`);
          approved = { id: String(pending.id), host: String(pending.request?.host) };
        }
      }
      await sleep(1000);
    }
    const read = async (file: string) => (await inAgent(`cat ${file} 2>/dev/null`)).stdout;
    const agent = {
      code: Number((await read("/tmp/agent-rc")).trim()),
      stdout: await read("/tmp/agent-out"),
      stderr: await read("/tmp/agent-err"),
    };
    const requests = await standIn.requests();
    // For reading a failed run: the whole record, credentials and all (a test key).
    if (process.env.CB_STANDIN_DUMP) {
      await writeFile(process.env.CB_STANDIN_DUMP, JSON.stringify({ requests, agent }, null, 1));
    }
    const upstreamLog = (
      await upstream.exec("git --git-dir=/srv/git/app.git log --format=%s --all 2>&1")
    ).stdout;
    // Stand-ins off the bottle's network first, then the program may end the run.
    await removeEscapeStandIns(scope);
    await docker(["exec", "-u", "0", agentContainer, "touch", "/tmp/standin-done"]);
    await Promise.race([cliExit, sleep(120_000)]);
    const l = leftoversOf(slug);
    return {
      key,
      pushMarker,
      slug,
      cli: cli.output(),
      agent,
      requests,
      approved,
      upstreamLog,
      leftovers: [...(await escapeLeftovers(scope)), ...l.containers, ...l.networks, ...l.volumes],
    };
  } finally {
    await removeEscapeStandIns(scope);
    if (slug !== "") await t.run(["stop", slug]);
    await ca.dispose();
    await rm(dir, { recursive: true, force: true });
    await t.dispose();
  }
}

/** A shell command that writes `content` to `path` (under the agent's home), quoting-proof. */
export function writeFileCommand(path: string, content: string): string {
  const b64 = Buffer.from(content).toString("base64");
  return `mkdir -p "$(dirname ${path})" && echo ${b64} | base64 -d >${path}`;
}
