// One interactive session of a real agent program, as a person has it: `claude-bottle start
// <agent> --yes` with the shipped example manifests (written by `claude-bottle init`,
// unchanged), in a pseudo-terminal (a tmux pane of its own server), from a git repository.
// The model stand-in answers under the real model hostname on the bottle's egress network,
// behind the shipped bottle's route; the only real key is the CLI's environment variable.
// The test types the task, reads the screen, and ends the session with the program's own
// exit command.
//
// The stand-in must be on the bottle's egress network before the program makes its first
// model call: it joins as soon as that network exists, while Compose still waits for the
// sidecars' health checks, before the program is attached.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureAgentPackage } from "../../../../src/agents/agent-package.js";
import type { AgentProvider } from "../../../../src/manifest/resolved-bottle.js";
import { CLI, makeTestHome } from "../../cli/cli-process.js";
import { leftoversOf } from "../../docker/docker-state.js";
import { docker } from "../../docker/git-gate-docker.js";
import { makeUpstreamCa } from "../../tls/test-ca.js";
import { escapeLeftovers, newEscapeScope, removeEscapeStandIns } from "../escape-standins.js";
import { sharedAgentCache } from "./agent-run.js";
import { type ModelRequest, type ScriptTurn, startModelStandIn } from "./standin.js";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The task typed at the prompt; the stand-in's script does the rest. */
export const TASK = "Run the scripted shell step, then stop.";
/** Printed by the scripted shell step, so its result is known to come from the bottle. */
export const SHELL_MARK = "bottle-shell-42";
export const FINAL_ANSWER = "All scripted steps are done.";
/** Never allowed by a shipped bottle; a reserved name, so nothing outside is ever asked. */
export const REFUSED_HOST = "unlisted.standin.test";

export interface InteractiveSetup {
  /** The shipped example agent `start` runs ("claude", "claude-subscription"…). */
  agent: string;
  provider: AgentProvider;
  /** The real model host the shipped bottle routes. */
  modelHost: string;
  /** The host variable holding the real credential, which the shipped route reads. */
  secretEnv: string;
  /** The variable the agent holds its placeholder in. */
  placeholderEnv: string;
  /** The program's screen once it waits for a task at its prompt. */
  ready: RegExp;
  /** What ends the session at the prompt ("/exit"). */
  exitCommand: string;
}

export interface InteractiveResult {
  secret: string;
  slug: string;
  /** Every screen read before the task was typed, in order. */
  startScreens: string[];
  /** The screen (with scrollback) after the final answer, and at the end. */
  answerScreen: string;
  endScreen: string;
  /** `start`'s exit code, printed in the pane after it returned; null if it never did. */
  cliExit: number | null;
  requests: ModelRequest[];
  leftovers: string[];
}

/** The one scripted tool turn: a shell command whose output shows where it ran. */
export function interactiveTurns(placeholderEnv: string): ScriptTurn[] {
  return [
    {
      shell:
        // The mark is not in the command's text: seen in its result, the command ran.
        // (Gemini CLI refuses any "$(" in a command, arithmetic included.)
        `printf '${SHELL_MARK.replace("42", "%d")}\\n' 42; id -un; ` +
        // What every process of the agent holds (Claude Code keeps its token out of its
        // shell tool's environment, not out of its own).
        `cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -a '^${placeholderEnv}=' | sort -u; ` +
        `curl -sS -m 20 https://${REFUSED_HOST}/ -o /dev/null -w 'REFUSED-HTTP:%{http_code}' 2>&1; echo`,
    },
    { text: FINAL_ANSWER },
  ];
}

class Pane {
  constructor(
    readonly socket: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}
  async tmux(args: string[]): Promise<string> {
    const r = await run("tmux", ["-L", this.socket, ...args], { env: this.env });
    return r.stdout;
  }
  /** The screen and its scrollback, as text. */
  screen(): Promise<string> {
    return this.tmux(["capture-pane", "-p", "-J", "-S", "-2000", "-t", "main"]);
  }
  /** Types as a person does, a key at a time (a burst reads as a paste to Codex), then Enter. */
  async type(text: string): Promise<void> {
    for (const key of text) {
      await this.tmux(["send-keys", "-t", "main", "-l", key]);
      await sleep(30);
    }
    await sleep(1000);
    await this.tmux(["send-keys", "-t", "main", "Enter"]);
  }
  async kill(): Promise<void> {
    await run("tmux", ["-L", this.socket, "kill-server"], { env: this.env }).catch(() => {});
    // tmux leaves its socket file behind.
    const dir = join(this.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid?.() ?? 0}`);
    await rm(join(dir, this.socket), { force: true });
  }
}

/** Reads the screen until `done` says so; throws with the last screen after `ms`. */
async function waitForScreen(
  pane: Pane,
  what: string,
  ms: number,
  done: (screen: string) => boolean,
  each: (screen: string) => void = () => {},
): Promise<string> {
  const deadline = Date.now() + ms;
  let last = "";
  for (;;) {
    last = await pane.screen();
    each(last);
    if (done(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen in time; the screen:\n${last}`);
    await sleep(500);
  }
}

export async function runInteractiveAgent(setup: InteractiveSetup): Promise<InteractiveResult> {
  const secret = `cbtest-real-secret-${randomBytes(12).toString("hex")}`;
  const scope = newEscapeScope();
  const t = await makeTestHome();
  const ca = await makeUpstreamCa();
  const repo = await mkdtemp(join(tmpdir(), "cb-interactive-repo-"));
  const agentCache = sharedAgentCache();
  const env: NodeJS.ProcessEnv = {
    ...t.env,
    CLAUDE_BOTTLE_UPSTREAM_CA: ca.caFile,
    CLAUDE_BOTTLE_AGENT_CACHE: agentCache,
    [setup.secretEnv]: secret,
  };
  // Its own tmux server: the pane's environment is this process's, the secret never in argv.
  const pane = new Pane(`cbtest-${scope.id}`, env);
  let slug = "";
  try {
    await ensureAgentPackage({
      provider: setup.provider,
      home: t.home,
      env: { CLAUDE_BOTTLE_AGENT_CACHE: agentCache },
      progress: () => {},
    });
    const init = await t.run(["init"]);
    if (init.code !== 0) throw new Error(`init failed:\n${init.stderr}`);
    // ~/work is a copy of a git repository, as when a person starts from their project.
    await writeFile(join(repo, "README.md"), "A project.\n");
    const git = (...args: string[]) => run("git", args, { cwd: repo });
    await git("init", "-q", "-b", "main");
    await git("add", "README.md");
    await git("-c", "user.name=T", "-c", "user.email=t@example.test", "commit", "-qm", "first");

    const command = `node ${CLI} start ${setup.agent} --yes; echo CB-EXIT:$?; sleep 3600`;
    await pane.tmux([
      "new-session",
      "-d",
      "-s",
      "main",
      "-x",
      "200",
      "-y",
      "50",
      "-c",
      repo,
      command,
    ]);

    const startScreens: string[] = [];
    const instance = await waitForScreen(
      pane,
      "the preflight's instance line",
      600_000,
      (s) => /instance\s+\S+/.test(s) || s.includes("CB-EXIT:"),
    );
    slug = /instance\s+(\S+)/.exec(instance)?.[1] ?? "";
    if (slug === "") throw new Error(`start ended before its preflight:\n${instance}`);
    const egressNetwork = `claude-bottle-${slug}-egress`;
    const deadline = Date.now() + 300_000;
    while (
      (await docker(["network", "inspect", egressNetwork], { allowFailure: true })).code !== 0
    ) {
      const s = await pane.screen();
      if (s.includes("CB-EXIT:")) throw new Error(`start ended before the bottle was up:\n${s}`);
      if (Date.now() > deadline) throw new Error(`${egressNetwork} never appeared:\n${s}`);
      await sleep(100);
    }
    const standIn = await startModelStandIn(scope, {
      network: egressNetwork,
      ca,
      hostnames: [setup.modelHost, REFUSED_HOST],
      turns: interactiveTurns(setup.placeholderEnv),
    });

    await waitForScreen(
      pane,
      `${setup.agent}'s prompt`,
      300_000,
      (s) => setup.ready.test(s) || s.includes("CB-EXIT:"),
      (s) => startScreens.push(s),
    );
    // Settled: a dialog drawn just after the prompt would show here.
    await sleep(3000);
    startScreens.push(await pane.screen());

    await pane.type(TASK);
    const answerScreen = await waitForScreen(
      pane,
      "the final answer",
      300_000,
      (s) => s.includes(FINAL_ANSWER) || s.includes("CB-EXIT:"),
    );
    await sleep(2000);
    const requests = await standIn.requests();
    if (process.env.CB_STANDIN_DUMP) {
      await writeFile(
        process.env.CB_STANDIN_DUMP,
        JSON.stringify({ requests, startScreens, answerScreen }, null, 1),
      );
    }
    // Stand-ins off the bottle's network first, or Compose cannot remove it.
    await removeEscapeStandIns(scope);
    await pane.type(setup.exitCommand);
    const endScreen = await waitForScreen(pane, "the end of the session", 180_000, (s) =>
      s.includes("CB-EXIT:"),
    );
    const exit = /CB-EXIT:(\d+)/.exec(endScreen)?.[1];
    const l = leftoversOf(slug);
    return {
      secret,
      slug,
      startScreens,
      answerScreen,
      endScreen,
      cliExit: exit === undefined ? null : Number(exit),
      requests,
      leftovers: [...(await escapeLeftovers(scope)), ...l.containers, ...l.networks, ...l.volumes],
    };
  } finally {
    await pane.kill();
    await removeEscapeStandIns(scope);
    if (slug !== "") await t.run(["stop", slug]);
    await ca.dispose();
    await rm(repo, { recursive: true, force: true });
    await t.dispose();
  }
}
