// How big a manifest may be. Manifests are written by hand and an agent's may come from a
// cloned repository, so every size is capped well above any real use and far below what
// would make loading slow: a refusal names the cap, never a stall or a crash.
import type { IssuePath, YamlLimits } from "../shared/yaml-source.js";

/**
 * The whole file, front matter and body. The largest real manifest is a few KiB (a long
 * agent prompt perhaps 50); 256 KiB leaves room for that five times over, and bounds the
 * parse at a fraction of a second.
 */
export const MAX_MANIFEST_BYTES = 256 * 1024;

/**
 * The largest value one variable of the agent's environment may have, in UTF-8 bytes. Linux
 * refuses to start a program with any one "NAME=value" over 128 KiB (MAX_ARG_STRLEN), which
 * showed only as "agent exited (1)"; half that leaves room for the name and says so up front.
 */
export const MAX_ENV_VALUE_BYTES = 64 * 1024;

/** The most entries a list or mapping may hold, by where it is ("[]" for any index). */
export const MANIFEST_ENTRY_CAPS: ReadonlyMap<string, number> = new Map([
  ["env", 1000],
  ["egress.allow", 1000],
  ["egress.allow_ips", 1000],
  ["egress.routes", 200],
  ["egress.routes.[].paths", 200],
  ["git", 100],
  ["extends", 20],
  ["skills", 200],
]);

/** Any other list or mapping; the largest the schemas allow elsewhere is about ten keys. */
export const DEFAULT_ENTRY_CAP = 100;

export const MANIFEST_YAML_LIMITS: YamlLimits = {
  // The deepest a manifest goes is egress.routes[].auth.scheme: five levels.
  maxDepth: 16,
  maxAliases: 50,
  maxAliasExpansion: 100,
  maxEntries: manifestEntryCap,
};

export function manifestEntryCap(path: IssuePath): number {
  const key = path.map((part) => (typeof part === "number" ? "[]" : String(part))).join(".");
  return MANIFEST_ENTRY_CAPS.get(key) ?? DEFAULT_ENTRY_CAP;
}
