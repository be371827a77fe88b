// The front matter of an agent manifest, as written. An agent may come from a cloned
// repository, so it can only *name* a bottle from the user's home, never point at one.
import { z } from "zod";
import { isManifestName, notManifestName } from "./manifest-fields.js";

export type SkillRef = { kind: "name"; name: string } | { kind: "path"; path: string };

const SKILL_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

function looksLikePath(text: string): boolean {
  return /[/\\]/.test(text) || text.startsWith(".") || text.startsWith("~") || text.endsWith(".md");
}

/** @param bottlesLabel where bottles live, as shown to the user ("~/.claude-bottle/bottles") */
export function agentFileSchema(bottlesLabel: string) {
  const bottleRef = z.string().superRefine((ref, ctx) => {
    if (looksLikePath(ref)) {
      const name = (ref.split(/[/\\]/).pop() ?? ref).replace(/\.md$/, "");
      ctx.addIssue({
        code: "custom",
        message: `"${ref}" is a path; an agent names a bottle kept in ${bottlesLabel}/ (e.g. bottle: ${name}), because a cloned repo must not be able to point a secret at a host of its choosing`,
      });
    } else if (!isManifestName(ref)) {
      ctx.addIssue({ code: "custom", message: notManifestName("bottle", ref) });
    }
  });

  const skillRef = z.string().transform((ref, ctx): SkillRef => {
    if (SKILL_NAME.test(ref)) return { kind: "name", name: ref };
    if (looksLikePath(ref)) return { kind: "path", path: ref };
    ctx.addIssue({
      code: "custom",
      message: `"${ref}" is neither a skill name (lowercase letters, digits and dashes) nor a path (/…, ~/… or ./…)`,
    });
    return z.NEVER;
  });

  return z.strictObject({
    bottle: bottleRef,
    skills: z.array(skillRef).optional(),
    description: z.string().optional(),
  });
}
