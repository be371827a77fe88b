// `render --backend kubernetes`: stages a planned bottle in memory (fresh CAs, policies,
// scripts), turns it into Kubernetes objects, validates each against the schemas and lays
// them out as files, for `render` to write. Never reads a secret value: the apply script
// does, at apply time.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { initialPolicySnapshot } from "../../approval/policy-snapshot.js";
import { bottleMounts } from "../../core/bottle-mounts.js";
import type { RenderedFile, Renderer, Rendering } from "../backend.js";
import { stageBottle } from "../prepare-bottle.js";
import type { StartPlan } from "../start-plan.js";
import { renderApplyScript } from "./apply-script.js";
import {
  type KubernetesBottle,
  type KubernetesObject,
  type KubernetesRenderInput,
  renderKubernetesBottle,
} from "./kubernetes-objects.js";
import { validateKubernetesObject } from "./validate-objects.js";

export const APPLY_SCRIPT = "apply.sh";

const KEYS_NOTE = "0600: the bottle's CA private keys; delete after apply";

export interface RenderedKubernetesBottle {
  bottle: KubernetesBottle;
  objects: KubernetesObject[];
  files: RenderedFile[];
}

/**
 * Kubernetes joins the registry as a Renderer only: this tool writes what a cluster would run
 * and the script that applies it, and drives no cluster (`docs kubernetes`).
 */
export class KubernetesRenderer implements Renderer {
  readonly name = "kubernetes";
  readonly summary = "render only: a namespace per bottle and apply.sh, for a cluster you run";

  async render(plan: StartPlan, now: Date): Promise<Rendering> {
    const { bottle, objects, files } = await renderKubernetesFiles(plan, now);
    const values = bottle.secrets.flatMap((s) =>
      s.keys.map((k) =>
        k.from === "file"
          ? `  ${s.name}: ${k.key} from ${k.path}`
          : `  ${s.name}: ${k.key} from $${k.from === "env" ? k.hostVar : "gate rules"}`,
      ),
    );
    return {
      files,
      json: () => ({ apiVersion: "v1", kind: "List", items: objects }),
      defaultDir: `claude-bottle-k8s-${bottle.slug}`,
      notes: (dir) =>
        dir === null
          ? [
              `${objects.length} objects of bottle ${bottle.slug}; the List holds the bottle's CA private keys (Secret *-ca-key)`,
              ...(values.length > 0
                ? [
                    "not in it: the Secrets apply.sh creates from your shell and key files (render without --json for apply.sh):",
                    ...values,
                  ]
                : []),
            ]
          : [
              `namespace ${bottle.namespace}, ${objects.length} objects, validated`,
              ...(values.length > 0
                ? [
                    `${APPLY_SCRIPT} creates these Secrets when it runs, values never on disk or argv:`,
                    ...values,
                  ]
                : []),
              `next: ${join(dir, APPLY_SCRIPT)}   (read \`claude-bottle docs kubernetes\` first)`,
            ],
    };
  }
}

/** Objects and files of a bottle from its render input; every object validated. */
export function layOutKubernetesBottle(input: KubernetesRenderInput): RenderedKubernetesBottle {
  const bottle = renderKubernetesBottle(input);
  const objects = bottle.files.flatMap((f) => f.objects);
  for (const object of objects) validateKubernetesObject(object);
  const files: RenderedFile[] = bottle.files
    .filter((f) => f.objects.length > 0)
    .map((f) => ({
      name: f.name,
      text: f.objects
        .map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false }))
        .join("---\n"),
      mode: f.secret ? 0o600 : 0o644,
      ...(f.secret ? { note: KEYS_NOTE } : {}),
    }));
  files.push({ name: APPLY_SCRIPT, text: renderApplyScript(bottle), mode: 0o700 });
  return { bottle, objects, files };
}

/** Stages the bottle in memory (minting its CAs) and lays it out. */
async function renderKubernetesFiles(
  plan: StartPlan,
  now: Date,
): Promise<RenderedKubernetesBottle> {
  const { blueprint } = plan;
  const staged = await stageBottle(blueprint, now);
  const userFiles = new Map<string, string>();
  for (const m of bottleMounts(blueprint.plan)) {
    if (m.fromUser && !m.secret && m.kind === "file") {
      userFiles.set(m.source, await readFile(m.source, "utf8"));
    }
  }
  return layOutKubernetesBottle({
    blueprint,
    staged,
    userFiles,
    policySnapshot: `${JSON.stringify(initialPolicySnapshot(blueprint, now), null, 2)}\n`,
  });
}
