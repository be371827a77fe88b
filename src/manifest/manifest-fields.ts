// Field schemas that bottle and agent manifests share: names of manifests, names of
// host variables (never their values), host paths.
import { z } from "zod";
import { InputError } from "../shared/errors.js";
import { knownSecretKind, looksRandom } from "./secret-shape.js";

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A bottle's or agent's name, which is also its file name without ".md". */
export function isManifestName(name: string): boolean {
  return NAME.test(name);
}

/** '"Dev" is not a bottle name: bottle names are lowercase letters, …' */
export function notManifestName(kind: "bottle" | "agent", name: string): string {
  return `"${name}" is not ${kind === "agent" ? "an" : "a"} ${kind} name: ${kind} names are lowercase letters, digits and dashes, at most 40, starting with a letter or digit`;
}

/** For a name given on the command line; `example` is where such a file would be. */
export function assertManifestName(kind: "bottle" | "agent", name: string, example: string): void {
  if (isManifestName(name)) return;
  throw new InputError(notManifestName(kind, name), {
    hint: `${kind === "agent" ? "an agent's" : "a bottle's"} name is its file name without ".md", e.g. ${example}`,
  });
}

export const bottleName = z.string().superRefine((name, ctx) => {
  if (!isManifestName(name))
    ctx.addIssue({ code: "custom", message: notManifestName("bottle", name) });
});

function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

const ENV_NAME_RULE = 'letters, digits and "_", not starting with a digit';

/** A variable name as a key of `env`. */
export const envKey = z.string().superRefine((name, ctx) => {
  if (!isEnvName(name)) {
    const fixed = name.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([0-9])/, "_$1");
    ctx.addIssue({
      code: "custom",
      message: `"${name}" is not a variable name: use ${ENV_NAME_RULE} (did you mean "${fixed}"?)`,
    });
  }
});

/**
 * The name of a variable in the host environment, where a secret lives. A value that looks
 * like the secret itself is refused without being echoed.
 */
export const hostVarName = z.string().superRefine((name, ctx) => {
  const kind = knownSecretKind(name) ?? (looksLikeRandomToken(name) ? "a secret" : undefined);
  if (kind !== undefined) {
    ctx.addIssue({
      code: "custom",
      message: `holds ${kind}, not the name of a host variable; never write secrets in a manifest: export the secret on the host (e.g. export API_TOKEN=…) and write its name here`,
    });
  } else if (!isEnvName(name)) {
    ctx.addIssue({
      code: "custom",
      message: `"${name}" is not a variable name: use ${ENV_NAME_RULE} (e.g. GITHUB_TOKEN)`,
    });
  }
});

/** Variable names have words joined by "_"; tokens are long runs without them. */
function looksLikeRandomToken(text: string): boolean {
  return text.length >= 24 && !text.includes("_") && looksRandom(text);
}

/** A host path in a bottle: absolute or under "~/"; relative paths have no clear base there. */
export const bottleHostPath = z.string().superRefine((path, ctx) => {
  if (!path.startsWith("/") && path !== "~" && !path.startsWith("~/")) {
    ctx.addIssue({
      code: "custom",
      message: `"${path}" must be an absolute path or start with ~/`,
    });
  }
});
