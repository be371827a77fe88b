// Parses YAML (and JSON, a subset of it) keeping positions, so a validation issue found
// later on the plain value can be reported as file:line:col. Used for plan files and
// manifest front matter alike.
import {
  type Alias,
  type Document,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  type Pair,
  parseDocument,
  visit,
} from "yaml";
import type { z } from "zod";
import { InputError } from "./errors.js";

export type IssuePath = readonly PropertyKey[];

export interface Position {
  line: number;
  col: number;
}

export interface YamlSource {
  value: unknown;
  /** Where the value at `path` starts, or its nearest ancestor that exists. */
  locate(path: IssuePath): Position;
  /** Like `locate`, but a path ending at a mapping key points at the key, whatever its value. */
  locateKey(path: IssuePath): Position;
}

/**
 * @param label how the file is named in errors, e.g. "~/.claude-bottle/bottles/dev.md"
 * @param lineOffset lines before `text` in the file (front matter starts after "---")
 */
export function parseYamlSource(text: string, label: string, lineOffset = 0): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    const at = lineCounter.linePos(first.pos[0]);
    throw new InputError(
      `${label}:${at.line + lineOffset}:${at.col}: ${firstLine(first.message)}`,
      {
        hint: "fix the syntax at that line; strings with ':' or '#' need quotes",
      },
    );
  }
  const toPosition = (offset: number): Position => {
    const at = lineCounter.linePos(offset);
    return { line: at.line + lineOffset, col: at.col };
  };
  const locate = (path: IssuePath): Position => {
    let node: unknown = doc.contents;
    let best = toPosition(rangeStart(node) ?? 0);
    for (const key of path) {
      const next = childNode(node, key);
      if (next === undefined) break;
      node = next;
      const start = rangeStart(node);
      if (start !== undefined) best = toPosition(start);
    }
    return best;
  };
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (cause) {
    // An alias with no anchor throws here, not above: most often an unquoted "*.example.com".
    const at = toPosition(rangeStart(unresolvedAlias(doc)) ?? 0);
    throw new InputError(
      `${label}:${at.line}:${at.col}: ${firstLine(cause instanceof Error ? cause.message : String(cause))}`,
      {
        hint: 'a value starting with "*" is read as an alias: quote it, e.g. "*.example.com"',
        cause,
      },
    );
  }
  return {
    value,
    locate,
    locateKey(path) {
      let parent: unknown = doc.contents;
      for (const key of path.slice(0, -1)) parent = childNode(parent, key);
      const last = path[path.length - 1];
      const start = last === undefined ? undefined : rangeStart(findPair(parent, last)?.key);
      return start === undefined ? locate(path) : toPosition(start);
    },
  };
}

function unresolvedAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

function findPair(node: unknown, key: PropertyKey): Pair | undefined {
  if (!isMap(node)) return undefined;
  return node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
}

function childNode(node: unknown, key: PropertyKey): unknown {
  if (isMap(node)) {
    // Point at the key, not the value: "unknown key" and "wrong type" both read better there.
    const pair = findPair(node, key);
    if (pair === undefined) return undefined;
    return isScalar(pair.value) || pair.value === null ? pair.key : pair.value;
  }
  if (isSeq(node) && typeof key === "number") return node.items[key];
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

/** "egressPlan.routes[0].host" */
export function formatIssuePath(path: IssuePath): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Validates `source.value` with `schema`; on failure throws one InputError listing every
 * issue as "label:line:col: path: message".
 */
export function parseWithSchema<S extends z.ZodType>(
  schema: S,
  source: YamlSource,
  label: string,
  hint: string,
): z.infer<S> {
  const result = schema.safeParse(source.value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = [...issue.path, ...unknownKeyOf(issue)];
    const at = source.locate(path);
    const where = formatIssuePath(path);
    const missing = issue.code === "invalid_type" && !hasPath(source.value, issue.path);
    const text = missing
      ? `missing required key (expected ${issue.expected})`
      : describeIssue(issue);
    return `${label}:${at.line}:${at.col}: ${where === "" ? "" : `${where}: `}${text}`;
  });
  throw new InputError(lines.join("\n"), { hint });
}

function unknownKeyOf(issue: z.core.$ZodIssue): PropertyKey[] {
  return issue.code === "unrecognized_keys" && issue.keys.length === 1
    ? [issue.keys[0] as string]
    : [];
}

function hasPath(value: unknown, path: readonly PropertyKey[]): boolean {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return false;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return true;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ");
    return issue.keys.length === 1 ? `unknown key ${keys}` : `unknown keys ${keys}`;
  }
  return issue.message.replace(/^Invalid input: /, "");
}
