// `render --backend kubernetes`: stages a planned bottle in memory (fresh CAs, policies,
// scripts), turns it into Kubernetes objects, validates each against the schemas and lays
// them out as files; writeBottleDir puts them on disk. Never reads a secret value: the
// apply script does, at apply time.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { initialPolicySnapshot } from "../../approval/policy-snapshot.js";
import { bottleMounts } from "../../core/bottle-mounts.js";
import { InputError } from "../../shared/errors.js";
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

export interface RenderedBottleFile {
  name: string;
  text: string;
  mode: number;
  /** Holds the bottle's CA private keys. */
  secret: boolean;
}

export interface RenderedKubernetesBottle {
  bottle: KubernetesBottle;
  objects: KubernetesObject[];
  files: RenderedBottleFile[];
}

/** Objects and files of a bottle from its render input; every object validated. */
export function layOutKubernetesBottle(input: KubernetesRenderInput): RenderedKubernetesBottle {
  const bottle = renderKubernetesBottle(input);
  const objects = bottle.files.flatMap((f) => f.objects);
  for (const object of objects) validateKubernetesObject(object);
  const files: RenderedBottleFile[] = bottle.files
    .filter((f) => f.objects.length > 0)
    .map((f) => ({
      name: f.name,
      text: f.objects
        .map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false }))
        .join("---\n"),
      mode: f.secret ? 0o600 : 0o644,
      secret: f.secret,
    }));
  files.push({ name: APPLY_SCRIPT, text: renderApplyScript(bottle), mode: 0o700, secret: false });
  return { bottle, objects, files };
}

/** Stages the bottle in memory (minting its CAs) and lays it out. */
export async function renderKubernetesFiles(
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

/** Writes the files into `dir` (created 0700: a file in it holds the CAs' private keys). */
export async function writeBottleDir(dir: string, files: readonly RenderedBottleFile[]) {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new InputError(`cannot create ${dir}`, {
      cause: error,
      hint: "choose another directory with --out",
    });
  }
  await chmod(dir, 0o700);
  for (const f of files) {
    const path = join(dir, f.name);
    await writeFile(path, f.text, { mode: f.mode });
    await chmod(path, f.mode);
  }
}
