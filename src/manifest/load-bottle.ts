// Loads a bottle by name from the claude-bottle home and folds in what it extends.
// Bottles are policy (which hosts, which secrets go where), so they are read only from
// the user's home, and a repository that ships some is refused outright.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { didYouMean } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import type { IssuePath } from "../shared/yaml-source.js";
import { type BottleLayer, readBottleLayer } from "./bottle-layer.js";
import { foldBottleLayers } from "./fold-bottle-layers.js";
import { assertManifestName, isManifestName } from "./manifest-fields.js";
import { type ManifestFile, readManifestFile } from "./manifest-file.js";
import { manifestError } from "./manifest-issues.js";
import {
  displayPath,
  type ManifestOptions,
  type ManifestPaths,
  repoBottlesDir,
  resolveManifestPaths,
} from "./manifest-paths.js";
import type { ResolvedBottle } from "./resolved-bottle.js";

export interface ManifestEntry {
  name: string;
  file: string;
  label: string;
}

export async function loadBottle(
  name: string,
  options: ManifestOptions = {},
): Promise<ResolvedBottle> {
  return loadBottleFrom(name, await manifestPathsFor("bottle", name, options));
}

/**
 * The manifest folders to load `name` from, once it is a manifest name and no repository
 * holds bottles of its own. A bad name is shown what a good one looks like: "dev".
 */
export async function manifestPathsFor(
  kind: "bottle" | "agent",
  name: string,
  options: ManifestOptions,
): Promise<ManifestPaths> {
  const paths = resolveManifestPaths(options);
  await assertNoRepoBottles(paths);
  const example = kind === "bottle" ? bottleFile(paths, "dev") : join(paths.agentsDir, "dev.md");
  assertManifestName(kind, name, displayPath(example, paths.userHome));
  return paths;
}

/** A bottle named by `by` (an agent's `bottle:` key), so that "not found" points there. */
export async function loadBottleFrom(
  name: string,
  paths: ManifestPaths,
  by?: { file: ManifestFile; path: IssuePath },
): Promise<ResolvedBottle> {
  const layers: BottleLayer[] = [];
  const loaded = new Set<string>();
  // Depth-first, parents left to right, each bottle applied once where it first appears.
  const visit = async (
    bottle: string,
    stack: readonly string[],
    from?: { file: ManifestFile; path: IssuePath },
  ): Promise<void> => {
    if (loaded.has(bottle)) return;
    const file = await readManifestFile(bottleFile(paths, bottle), bottleLabel(paths, bottle));
    if (file === undefined) throw await notFound(bottle, paths, from, [...stack, bottle]);
    const layer = await readBottleLayer(bottle, file, paths.userHome);
    const chain = [...stack, bottle];
    // Every parent is checked before any is read, so the error names the first bad one.
    for (const parent of layer.extends) {
      if (parent.name === bottle) {
        throw manifestError(file, [
          { path: parent.path, message: `a bottle cannot extend itself; remove "${bottle}"` },
        ]);
      }
      const start = chain.indexOf(parent.name);
      if (start !== -1) {
        const cycle = [...chain.slice(start), parent.name].join(" → ");
        throw manifestError(file, [
          {
            path: parent.path,
            message: `"${parent.name}" makes a cycle: ${cycle}; a bottle cannot extend itself through others`,
          },
        ]);
      }
    }
    for (const parent of layer.extends) {
      await visit(parent.name, chain, { file, path: parent.path });
    }
    loaded.add(bottle);
    layers.push(layer);
  };
  await visit(name, [], by);
  return foldBottleLayers(layers);
}

/** The bottles in the claude-bottle home, by name. */
export async function listBottles(options: ManifestOptions = {}): Promise<ManifestEntry[]> {
  const paths = resolveManifestPaths(options);
  return listManifests(paths.bottlesDir, paths.userHome);
}

export async function listManifests(dir: string, userHome: string): Promise<ManifestEntry[]> {
  return (await markdownFiles(dir))
    .map((file) => file.slice(0, -".md".length))
    .filter(isManifestName)
    .map((name) => {
      const file = join(dir, `${name}.md`);
      return { name, file, label: displayPath(file, userHome) };
    });
}

/** Refuses to run in a repository that ships bottles: they would look in force, and are not. */
export async function assertNoRepoBottles(paths: ManifestPaths): Promise<void> {
  if (paths.repoDir === null) return;
  const dir = repoBottlesDir(paths.repoDir);
  const found = await markdownFiles(dir);
  if (found.length === 0) return;
  const lines = found.map(
    (file) =>
      `${displayPath(join(dir, file), paths.userHome)}: a repository cannot provide bottles; bottles live only in ${displayPath(paths.bottlesDir, paths.userHome)}/, because a cloned repo must not be able to point a secret at a host of its choosing`,
  );
  throw new InputError(lines.join("\n"), {
    hint: `review the file; if you trust it, move it to ${displayPath(paths.bottlesDir, paths.userHome)}/, and delete it from the repository`,
  });
}

async function notFound(
  name: string,
  paths: ManifestPaths,
  from: { file: ManifestFile; path: IssuePath } | undefined,
  chain: readonly string[],
): Promise<InputError> {
  const known = (await listManifests(paths.bottlesDir, paths.userHome)).map((b) => b.name);
  const missing = `no bottle "${name}": ${bottleLabel(paths, name)} does not exist`;
  const suggestion = didYouMean(name, known);
  if (from === undefined) {
    return new InputError(`${missing}${suggestion}`, {
      hint:
        known.length === 0
          ? "create one; `claude-bottle init` writes examples to start from"
          : `bottles you have: ${known.join(", ")}`,
    });
  }
  const via = chain.length > 1 ? ` (chain: ${chain.join(" → ")})` : "";
  return manifestError(from.file, [{ path: from.path, message: `${missing}${via}${suggestion}` }]);
}

async function markdownFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((file) => file.endsWith(".md")).sort();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw cause;
  }
}

function bottleFile(paths: ManifestPaths, name: string): string {
  return join(paths.bottlesDir, `${name}.md`);
}

function bottleLabel(paths: ManifestPaths, name: string): string {
  return displayPath(bottleFile(paths, name), paths.userHome);
}
