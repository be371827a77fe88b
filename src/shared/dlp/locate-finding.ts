// Says where in a body a match sits ("body.json:$.messages[2].content", "body.form:token"),
// computed only once something matched, so clean bodies never pay for a parse. A location is
// shown to people and written to the audit log: it must never contain a matched value.
import { decodePercent } from "./body-decoding.js";

const SAFE_NAME = /^[A-Za-z_$][\w$-]{0,63}$/;
const MAX_NODES = 200_000;

/** @param latin1 the raw JSON text (bytes as latin1); @param match the matched text, same space */
export function locateInJson(latin1: string, match: string): string | undefined {
  let root: unknown;
  try {
    root = JSON.parse(Buffer.from(latin1, "latin1").toString("utf8"));
  } catch {
    return undefined;
  }
  const needle = Buffer.from(match, "latin1").toString("utf8");
  // Context rules match across a key and its value: the credential itself ends the match.
  const tail = needle.slice(-16);
  return findPath(root, needle) ?? (tail === needle ? undefined : findPath(root, tail));
}

function findPath(root: unknown, needle: string): string | undefined {
  const stack: [unknown, string][] = [[root, "$"]];
  let visited = 0;
  while (stack.length > 0 && visited++ < MAX_NODES) {
    const [value, path] = stack.pop() as [unknown, string];
    if (typeof value === "string") {
      if (value.includes(needle)) return path;
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}[${i}]`]);
    } else if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        if (key.includes(needle)) return `${path}[key]`;
        stack.push([child, `${path}${keySegment(key)}`]);
      }
    }
  }
  return undefined;
}

/** Odd keys are not shown at all: a truncated one could still carry part of a secret. */
function keySegment(key: string): string {
  return SAFE_NAME.test(key) ? `.${key}` : "[?]";
}

/** The field of an application/x-www-form-urlencoded body that holds `match`. */
export function locateInForm(latin1: string, match: string): string | undefined {
  for (const pair of latin1.split("&")) {
    const eq = pair.indexOf("=");
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    if (pair.includes(match) || decodePercent(pair, true).includes(match)) {
      const name = decodePercent(rawName, true);
      return SAFE_NAME.test(name) ? name : "?";
    }
  }
  return undefined;
}

/**
 * Coarsens a location that would reveal one of the matched values (a secret used as a JSON key
 * or a header name) to its kind, and caps its length.
 */
export function sanitizeLocation(location: string, matches: readonly string[]): string {
  // Case-insensitive: header names are shown lowercased.
  const lower = location.toLowerCase();
  const reveals = matches.some((m) => m.length > 0 && lower.includes(m.toLowerCase()));
  const safe = reveals ? (location.split(":")[0] ?? "request") : location;
  return safe.length > 200 ? `${safe.slice(0, 199)}…` : safe;
}
