// `claude-bottle render [--backend compose|swarm|kubernetes] <agent>`: what a bottle would
// deploy, as files, without starting anything. Compose and Swarm: the file their backend
// deploys (compose.yaml, the stack file), as `start --dry-run` shows it.
// Kubernetes: a directory of manifests and the script that applies them. No secret value is
// read here, except by the hidden --gate-rules-from-env, which that script runs at apply time.
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { Command, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import type { RenderedFile, Rendering } from "../backend/backend.js";
import { RENDERER_NAMES, rendererNamed } from "../backend/backends.js";
import { planStart } from "../backend/start-plan.js";
import { findRepoRoot, loadAgent } from "../manifest/index.js";
import { InputError } from "../shared/errors.js";
import { renderSecretRules } from "../sidecars/git-gate/secret-rules.js";
import { type CliContext, launchContextOf } from "./cli-context.js";

export function renderCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("render")
    .description(
      "write what a bottle would deploy (Compose, Swarm or Kubernetes), starting nothing",
    )
    .argument("[agent]", "agent name, as for `start`")
    .option("--backend <name>", `what to render: ${RENDERER_NAMES.join(", ")}`, "compose")
    .option("--out <dir>", "write the files here (kubernetes default: ./claude-bottle-k8s-<slug>)")
    .option("--json", "print the objects as one JSON document on stdout instead")
    .addOption(new Option("--gate-rules-from-env <names>").hideHelp())
    .addHelpText(
      "after",
      `
Kubernetes: a namespace per bottle, one pod per service, default-deny NetworkPolicies, and
apply.sh, which creates the Secrets from this shell's environment and your key files when
you run it. No secret value is ever written into the rendered files; the bottle's own CA
keys are (30-ca-keys.yaml, mode 0600). See \`claude-bottle docs kubernetes\`: it has not been run on a
cluster by this project's tests, and your CNI must enforce NetworkPolicy.

Examples:
  claude-bottle render claude
  claude-bottle render --backend swarm claude
  claude-bottle render --backend kubernetes --out ./k8s claude`,
    )
    .action(async (name, options) => {
      if (options.gateRulesFromEnv !== undefined) {
        ctx.io.stdout(gateRulesFromEnv(options.gateRulesFromEnv, ctx.env));
        return;
      }
      const launch = launchContextOf(ctx);
      const renderer = rendererNamed(options.backend, launch);
      if (name === undefined) {
        throw new InputError("render needs an agent name", {
          hint: "claude-bottle render <agent>",
        });
      }
      const repoDir = await findRepoRoot(ctx.cwd);
      const agent = await loadAgent(name, { repoDir, env: ctx.env });
      // A dry run: asks the engine nothing and reads no secret value.
      const plan = await planStart(agent, launch, true);
      await putOut(ctx, await renderer.render(plan, ctx.now()), options);
    });
}

async function putOut(
  ctx: CliContext,
  rendering: Rendering,
  options: { out?: string; json?: true },
): Promise<void> {
  const say = (lines: string[]) => {
    for (const line of lines) ctx.io.stderr(`${line}\n`);
  };
  if (options.json) {
    ctx.io.stdout(`${JSON.stringify(rendering.json(), null, 2)}\n`);
    say(rendering.notes(null));
    return;
  }
  const out = options.out ?? rendering.defaultDir;
  if (out === undefined) {
    ctx.io.stdout(rendering.files.map((f) => f.text).join("---\n"));
    say(rendering.notes(null));
    return;
  }
  const dir = resolve(ctx.cwd, out);
  await writeFiles(dir, rendering.files);
  const shown = relative(ctx.cwd, dir) || ".";
  for (const f of rendering.files) {
    ctx.io.stderr(`wrote   ${join(shown, f.name)}${f.note ? `  (${f.note})` : ""}\n`);
  }
  say(rendering.notes(shown));
}

/**
 * Writes the files into `dir`, each with its mode; the folder 0700 when one of them is for
 * its owner alone (the Kubernetes CA keys).
 */
async function writeFiles(dir: string, files: readonly RenderedFile[]): Promise<void> {
  const ownerOnly = files.some((f) => f.mode !== undefined && (f.mode & 0o077) === 0);
  try {
    await mkdir(dir, { recursive: true, ...(ownerOnly ? { mode: 0o700 } : {}) });
    if (ownerOnly) await chmod(dir, 0o700);
  } catch (error) {
    throw new InputError(`cannot create ${dir}`, {
      cause: error,
      hint: "choose another directory with --out",
    });
  }
  for (const f of files) {
    const path = join(dir, f.name);
    const mode = f.mode ?? 0o644;
    await writeFile(path, f.text, { mode });
    await chmod(path, mode);
  }
}

/** The gate's rules for the named host variables, read from `env`: apply.sh runs this. */
function gateRulesFromEnv(names: string, env: NodeJS.ProcessEnv): string {
  const list = names.split(",").filter((n) => n !== "");
  const missing = list.filter((n) => !env[n]);
  if (missing.length > 0) {
    throw new InputError(`not set in this shell: ${missing.join(", ")}`, {
      hint: `export ${missing[0]}=… before running apply.sh`,
    });
  }
  return renderSecretRules(list.map((n) => ({ name: n, value: env[n] ?? "" })));
}
