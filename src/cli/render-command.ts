// `claude-bottle render [--backend compose|swarm|kubernetes] <agent>`: what a bottle would
// deploy, as files, without starting anything. Compose and Swarm: the file their backend
// deploys (compose.yaml, the stack file), as `start --dry-run` shows it.
// Kubernetes: a directory of manifests and the script that applies them. No secret value is
// read here, except by the hidden --gate-rules-from-env, which that script runs at apply time.
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { Command, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { parse } from "yaml";
import { BACKEND_NAMES, backendNamed } from "../backend/backends.js";
import {
  APPLY_SCRIPT,
  renderKubernetesFiles,
  writeBottleDir,
} from "../backend/kubernetes/render-bottle-dir.js";
import { planStart, type StartPlan } from "../backend/start-plan.js";
import { findRepoRoot, loadAgent } from "../manifest/index.js";
import { didYouMean } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import { renderSecretRules } from "../sidecars/git-gate/secret-rules.js";
import { type CliContext, launchContextOf } from "./cli-context.js";

/** Every backend that runs bottles, and Kubernetes, which is rendered only. */
export const RENDER_BACKENDS: readonly string[] = [...BACKEND_NAMES, "kubernetes"];

export function renderCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("render")
    .description(
      "write what a bottle would deploy (Compose, Swarm or Kubernetes), starting nothing",
    )
    .argument("[agent]", "agent name, as for `start`")
    .option("--backend <name>", `what to render: ${RENDER_BACKENDS.join(", ")}`, "compose")
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
      const backend = options.backend;
      if (!RENDER_BACKENDS.includes(backend)) {
        throw new InputError(
          `unknown backend "${backend}"${didYouMean(backend, RENDER_BACKENDS)}`,
          {
            hint: `render one of: ${RENDER_BACKENDS.join(", ")}`,
          },
        );
      }
      if (name === undefined) {
        throw new InputError("render needs an agent name", {
          hint: "claude-bottle render <agent>",
        });
      }
      const launch = launchContextOf(ctx);
      const repoDir = await findRepoRoot(ctx.cwd);
      const agent = await loadAgent(name, { repoDir, env: ctx.env });
      // A dry run: asks the engine nothing and reads no secret value.
      const plan = await planStart(agent, launch, true);
      if (backend === "kubernetes") await renderKubernetes(ctx, plan, options);
      else await renderBackend(ctx, backend, plan, options);
    });
}

async function renderBackend(
  ctx: CliContext,
  backend: string,
  plan: StartPlan,
  options: { out?: string; json?: true },
): Promise<void> {
  if (plan.missingEnv.length > 0) {
    ctx.io.stderr(
      `warning: not set on this host, start would fail: ${plan.missingEnv.join(", ")}\n`,
    );
  }
  const files = backendNamed(backend, launchContextOf(ctx)).render(plan);
  if (options.json) {
    const docs = files.map((f) => parse(f.text) as unknown);
    ctx.io.stdout(`${JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2)}\n`);
    return;
  }
  if (options.out === undefined) {
    ctx.io.stdout(files.map((f) => f.text).join("---\n"));
    return;
  }
  const dir = resolve(ctx.cwd, options.out);
  await mkdir(dir, { recursive: true });
  for (const f of files) {
    await writeFile(join(dir, f.name), f.text);
    ctx.io.stderr(`wrote   ${join(dir, f.name)}\n`);
  }
}

async function renderKubernetes(
  ctx: CliContext,
  plan: StartPlan,
  options: { out?: string; json?: true },
): Promise<void> {
  const rendered = await renderKubernetesFiles(plan, ctx.now());
  const { bottle } = rendered;
  const values = bottle.secrets.flatMap((s) =>
    s.keys.map((k) =>
      k.from === "file"
        ? `${s.name}: ${k.key} from ${k.path}`
        : `${s.name}: ${k.key} from $${k.from === "env" ? k.hostVar : "gate rules"}`,
    ),
  );
  if (options.json) {
    ctx.io.stdout(
      `${JSON.stringify({ apiVersion: "v1", kind: "List", items: rendered.objects }, null, 2)}\n`,
    );
    ctx.io.stderr(
      `${rendered.objects.length} objects of bottle ${bottle.slug}; the List holds the bottle's CA private keys (Secret *-ca-key)\n` +
        (values.length > 0
          ? `not in it: the Secrets apply.sh creates from your shell and key files (render without --json for apply.sh):\n${values.map((v) => `  ${v}\n`).join("")}`
          : ""),
    );
    return;
  }
  const dir = resolve(ctx.cwd, options.out ?? `claude-bottle-k8s-${bottle.slug}`);
  await writeBottleDir(dir, rendered.files);
  const shown = relative(ctx.cwd, dir) || ".";
  for (const f of rendered.files) {
    const note = f.secret ? "  (0600: the bottle's CA private keys; delete after apply)" : "";
    ctx.io.stderr(`wrote   ${join(shown, f.name)}${note}\n`);
  }
  ctx.io.stderr(`namespace ${bottle.namespace}, ${rendered.objects.length} objects, validated\n`);
  if (values.length > 0) {
    ctx.io.stderr(
      `${APPLY_SCRIPT} creates these Secrets when it runs, values never on disk or argv:\n`,
    );
    for (const v of values) ctx.io.stderr(`  ${v}\n`);
  }
  ctx.io.stderr(
    `next: ${join(shown, APPLY_SCRIPT)}   (read \`claude-bottle docs kubernetes\` first)\n`,
  );
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
