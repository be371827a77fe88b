// Parses YAML (and JSON, a subset of it) keeping positions, so a validation issue found
// later on the plain value can be reported as file:line:col. Used for plan files and
// manifest front matter alike. Every step is linear in the text and bounded: a file from a
// cloned repository must never be able to stall or crash the CLI that reads it.
import {
  type Alias,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Pair,
  parseDocument,
  type YAMLMap,
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

export interface YamlLimits {
  /** Mappings and lists inside one another; the top-level mapping is level 1. */
  maxDepth: number;
  /** Alias nodes ("*name") in the document. */
  maxAliases: number;
  /** What the aliases may expand to, as yaml's `maxAliasCount` counts it. */
  maxAliasExpansion: number;
  /** The most entries the mapping or list at `path` may hold; undefined for no cap. */
  maxEntries?: (path: IssuePath) => number | undefined;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxDepth: 32,
  maxAliases: 50,
  maxAliasExpansion: 100,
};

/**
 * Keys that name a JavaScript object's internals. Refused everywhere, so that no object
 * built from a file's keys can have its prototype replaced or a method shadowed.
 */
export const FORBIDDEN_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

export interface YamlSourceOptions {
  /** Lines before `text` in the file (front matter starts after "---"). */
  lineOffset?: number;
  limits?: Partial<YamlLimits>;
}

const ALIAS_HINT = 'a value starting with "*" is read as an alias: quote it, e.g. "*.example.com"';

/** @param label how the file is named in errors, e.g. "~/.claude-bottle/bottles/dev.md" */
export function parseYamlSource(
  text: string,
  label: string,
  options: YamlSourceOptions = {},
): YamlSource {
  const limits = { ...DEFAULT_YAML_LIMITS, ...options.limits };
  const lineOffset = options.lineOffset ?? 0;
  const lineCounter = new LineCounter();
  const toPosition = (offset: number): Position => {
    const at = lineCounter.linePos(offset);
    return { line: at.line + lineOffset, col: at.col };
  };
  const refuse = (offset: number, message: string, hint: string): InputError => {
    const at = toPosition(offset);
    return new InputError(`${label}:${at.line}:${at.col}: ${message}`, { hint });
  };
  // The composer recurses once per nested "[" or "{", so deep flow nesting is refused on
  // the lexer's tokens first: 10,000 of them would otherwise exhaust the stack.
  const tooDeep = deepFlowOffset(text, limits.maxDepth);
  if (tooDeep !== undefined) {
    const before = text.slice(0, tooDeep).split("\n");
    const line = before.length + lineOffset;
    const col = (before.at(-1)?.length ?? 0) + 1;
    throw new InputError(`${label}:${line}:${col}: ${nestingMessage(limits.maxDepth)}`, {
      hint: NESTING_HINT,
    });
  }
  // uniqueKeys is off because the library checks each key against every earlier one
  // (quadratic: 40,000 keys took seconds); checkTree finds duplicates with a Map instead.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    throw refuse(
      first.pos[0],
      firstLine(first.message),
      "fix the syntax at that line; strings with ':' or '#' need quotes",
    );
  }
  const tree = checkTree(doc.contents, limits, refuse);
  const locate = (path: IssuePath): Position => {
    let node: unknown = doc.contents;
    let best = toPosition(rangeStart(node) ?? 0);
    for (const key of path) {
      const next = childNode(tree.keys, node, key);
      if (next === undefined) break;
      node = next;
      const start = rangeStart(node);
      if (start !== undefined) best = toPosition(start);
    }
    return best;
  };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: limits.maxAliasExpansion });
  } catch (cause) {
    const at = toPosition(rangeStart(tree.firstAlias) ?? 0);
    throw new InputError(
      `${label}:${at.line}:${at.col}: ${firstLine(cause instanceof Error ? cause.message : String(cause))}`,
      {
        hint: `aliases may expand to at most ${limits.maxAliasExpansion} copies: write the values out`,
        cause,
      },
    );
  }
  return {
    value,
    locate,
    locateKey(path) {
      let parent: unknown = doc.contents;
      for (const key of path.slice(0, -1)) parent = childNode(tree.keys, parent, key);
      const last = path[path.length - 1];
      const pair = last === undefined || !isMap(parent) ? undefined : tree.keys.get(parent);
      const start = rangeStart(pair?.get(String(last))?.key);
      return start === undefined ? locate(path) : toPosition(start);
    },
  };
}

const NESTING_HINT =
  "a manifest or plan is a few levels deep; flatten the structure (mappings and lists inside one another)";

function nestingMessage(max: number): string {
  return `nested more than ${max} levels deep (mappings and lists inside one another)`;
}

/** The offset of the first "[" or "{" that opens more than `max` levels, if any. */
function deepFlowOffset(text: string, max: number): number | undefined {
  let depth = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === "[" || token === "{") {
      depth += 1;
      if (depth > max) return offset;
    } else if ((token === "]" || token === "}") && depth > 0) {
      depth -= 1;
    }
    // The lexer's own markers are not in the text; every other token is a slice of it.
    if (token !== "\x02" && token !== "\x18" && token !== "\x1f") offset += token.length;
  }
  return undefined;
}

interface CheckedTree {
  /** Each mapping's pairs by key, so that locating an issue is one lookup per level. */
  keys: Map<YAMLMap, Map<string, Pair>>;
  firstAlias: unknown;
}

type Refuse = (offset: number, message: string, hint: string) => InputError;

/** The core schema's tags for plain values: "!!str 1" is a string, as written. */
const PLAIN_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

/**
 * One pass over the document, in order: caps nesting, entries and aliases; refuses
 * duplicate, non-scalar and forbidden keys, and aliases that name no earlier anchor or the
 * collection they sit in (which would make a value that contains itself).
 */
function checkTree(root: unknown, limits: YamlLimits, refuse: Refuse): CheckedTree {
  const check = new TreeCheck(limits, refuse);
  check.visit(root, [], 1, root);
  return { keys: check.keys, firstAlias: check.firstAlias };
}

class TreeCheck {
  readonly keys = new Map<YAMLMap, Map<string, Pair>>();
  firstAlias: unknown;
  readonly #anchors = new Set<string>();
  /** Anchors of the collections being visited: an alias to one is a value inside itself. */
  readonly #open: string[] = [];
  #aliases = 0;

  constructor(
    private readonly limits: YamlLimits,
    private readonly refuse: Refuse,
  ) {}

  visit(node: unknown, path: IssuePath, depth: number, shownAt: unknown): void {
    if (!isNode(node)) return;
    if (isAlias(node)) {
      this.#alias(node, path);
      return;
    }
    this.#tag(node, path);
    const anchor = node.anchor;
    if (anchor !== undefined) this.#anchors.add(anchor);
    if (!isMap(node) && !isSeq(node)) return;
    this.#caps(node.items.length, path, depth, shownAt);
    if (anchor !== undefined) this.#open.push(anchor);
    if (isSeq(node)) {
      node.items.forEach((item, i) => {
        this.visit(item, [...path, i], depth + 1, item);
      });
    } else {
      this.#mapping(node, path, depth);
    }
    if (anchor !== undefined) this.#open.pop();
  }

  #alias(node: Alias, path: IssuePath): void {
    const { limits, refuse } = this;
    this.#aliases += 1;
    this.firstAlias ??= node;
    if (this.#aliases > limits.maxAliases) {
      throw refuse(
        at(node),
        `more than ${limits.maxAliases} aliases ("*name")`,
        "write the values out instead of referring to an anchor",
      );
    }
    if (this.#open.includes(node.source)) {
      throw refuse(
        at(node),
        `${where(path)}alias *${node.source} is inside the value it names`,
        "an alias may only name a value that ends before it",
      );
    }
    if (!this.#anchors.has(node.source)) {
      throw refuse(
        at(node),
        `Unresolved alias (the anchor must be set before the alias): ${node.source}`,
        ALIAS_HINT,
      );
    }
  }

  /** A collection's nesting depth and entry count, against the limits. */
  #caps(entries: number, path: IssuePath, depth: number, shownAt: unknown): void {
    const { limits, refuse } = this;
    if (depth > limits.maxDepth) {
      throw refuse(at(shownAt), `${where(path)}${nestingMessage(limits.maxDepth)}`, NESTING_HINT);
    }
    const max = limits.maxEntries?.(path);
    if (max !== undefined && entries > max) {
      throw refuse(
        at(shownAt),
        `${where(path)}${entries} entries, more than the ${max} allowed here; remove some`,
        "files written by hand have capped sizes; `claude-bottle docs manifests` (Limits) lists them",
      );
    }
  }

  #mapping(node: YAMLMap, path: IssuePath, depth: number): void {
    const refuse = this.refuse;
    const pairs = new Map<string, Pair>();
    this.keys.set(node, pairs);
    for (const pair of node.items) {
      const key = pair.key;
      if (!isScalar(key)) {
        throw refuse(
          isNode(key) ? at(key) : at(pair.value),
          `${where(path)}a key must be a plain word or string, not ${isAlias(key) ? "an alias" : key === null ? "empty" : "a list or mapping"}`,
          'write keys as "name: value"',
        );
      }
      this.#tag(key, path);
      const name = key.value === null ? "" : String(key.value);
      if (FORBIDDEN_KEYS.includes(name)) {
        throw refuse(
          at(key),
          `${where([...path, name])}"${name}" cannot be a key: it names a JavaScript object's internals`,
          `rename or remove "${name}"`,
        );
      }
      if (pairs.has(name)) {
        throw refuse(
          at(key),
          `${where([...path, name])}"${name}" is already a key of this mapping, on the line above or earlier; keep one`,
          "each key may appear once in a mapping",
        );
      }
      pairs.set(name, pair);
      if (key.anchor !== undefined) this.#anchors.add(key.anchor);
      this.visit(pair.value, [...path, name], depth + 1, key);
    }
  }

  /**
   * A tag turns a value into something else (bytes, a date, a set) or, unknown, into a string
   * silently: only the tags that name plain JSON-like values are accepted.
   */
  #tag(node: { tag?: string | undefined }, path: IssuePath): void {
    if (node.tag === undefined || PLAIN_TAGS.has(node.tag)) return;
    const shown = node.tag.replace(/^tag:yaml\.org,2002:/, "!!");
    throw this.refuse(
      at(node),
      `${where(path)}the YAML tag ${JSON.stringify(shown).slice(1, -1)} is not accepted`,
      "remove the tag: these files take plain values (strings, numbers, true/false, lists, mappings)",
    );
  }
}

function at(node: unknown): number {
  return rangeStart(node) ?? 0;
}

/** "path: " before a message, or nothing at the top. */
function where(path: IssuePath): string {
  const shown = formatIssuePath(path);
  return shown === "" ? "" : `${shown}: `;
}

function childNode(keys: CheckedTree["keys"], node: unknown, key: PropertyKey): unknown {
  if (isMap(node)) {
    // Point at the key, not the value: "unknown key" and "wrong type" both read better there.
    const pair = keys.get(node)?.get(String(key));
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
