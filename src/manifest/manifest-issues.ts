// Turns validation failures into the messages users read: one line per issue, as
// "file:line:col: key.path: what is wrong and how to fix it", with "did you mean" for
// near-miss keys and values. Texts here are user-facing and tested word for word.
import { z } from "zod";
import { didYouMean } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import { formatIssuePath, type IssuePath } from "../shared/yaml-source.js";
import { MANIFEST_HINT, type ManifestFile } from "./manifest-file.js";
import type { SourceLocation } from "./resolved-bottle.js";
import { redactSecrets } from "./secret-shape.js";

export interface ManifestIssue {
  path: IssuePath;
  message: string;
}

/** Validates the file's front matter; throws one InputError listing every issue. */
export function validateManifest<S extends z.ZodType>(schema: S, file: ManifestFile): z.output<S> {
  const result = schema.safeParse(file.source.value, { reportInput: true });
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) => describeIssue(issue, [], schema));
  throw manifestError(file, withoutSupersededMissing(issues));
}

export function manifestError(file: ManifestFile, issues: readonly ManifestIssue[]): InputError {
  const lines = issues
    .map((issue) => ({ issue, at: locationOf(file, issue.path) }))
    .sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col)
    .map(({ issue, at }) => {
      const where = formatIssuePath(issue.path);
      // A value echoed back ("x" is not one of …) may be a pasted token: never print one.
      const message = redactSecrets(issue.message);
      return `${file.label}:${at.line}:${at.col}: ${where === "" ? "" : `${where}: `}${message}`;
    });
  return new InputError(lines.join("\n"), { hint: MANIFEST_HINT });
}

export function locationOf(file: ManifestFile, path: IssuePath): SourceLocation {
  const at = file.source.locateKey(path);
  return { file: file.path, label: file.label, line: at.line, col: at.col };
}

function describeIssue(
  issue: z.core.$ZodIssue,
  prefix: IssuePath,
  schema: z.ZodType,
): ManifestIssue[] {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeysAt(schema, path);
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: `unknown key "${key}"${didYouMean(key, allowed) || ` (allowed here: ${allowed.join(", ")})`}`,
      }));
    }
    case "invalid_union": {
      // Report the one alternative the value was shaped like, e.g. {form_env: X}.
      const shaped = issue.errors.filter(
        (branch) => !branch.some((i) => i.path.length === 0 && i.code === "invalid_type"),
      );
      const only = shaped.length === 1 ? shaped[0] : undefined;
      if (only !== undefined) return only.flatMap((inner) => describeIssue(inner, path, schema));
      return [{ path, message: issue.message }];
    }
    case "invalid_key":
      return [{ path, message: issue.issues.map((inner) => inner.message).join("; ") }];
    case "invalid_type":
      return [{ path, message: describeWrongType(issue, path) }];
    case "invalid_value": {
      const values = issue.values.map(String);
      const got = String(issue.input);
      return [
        {
          path,
          message: `"${got}" is not one of ${values.join(", ")}${didYouMean(got, values)}`,
        },
      ];
    }
    default:
      return [{ path, message: issue.message.replace(/^Invalid input: /, "") }];
  }
}

function describeWrongType(issue: z.core.$ZodIssueInvalidType, path: IssuePath): string {
  const expected = EXPECTED[issue.expected] ?? issue.expected;
  if (issue.input === undefined) return `required key "${String(path.at(-1))}" is missing`;
  if (issue.input === null) return `has no value; expected ${expected}`;
  return `expected ${expected}, got ${kindOf(issue.input)}`;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  boolean: "true or false",
  array: "a list",
  object: 'a mapping of "key: value" lines',
  record: 'a mapping of "key: value" lines',
};

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string")
    return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value === "boolean" ? "the boolean" : "the number"} ${String(value)}`;
}

/** A misspelt key that we can name ("egres" → "egress") says all that "egress is missing" would. */
function withoutSupersededMissing(issues: ManifestIssue[]): ManifestIssue[] {
  const suggested = new Set(
    issues.flatMap((i) => {
      const match = /\(did you mean "([^"]+)"\?\)$/.exec(i.message);
      return match?.[1] === undefined ? [] : [formatIssuePath([...i.path.slice(0, -1), match[1]])];
    }),
  );
  return issues.filter(
    (i) => !(i.message.endsWith("is missing") && suggested.has(formatIssuePath(i.path))),
  );
}

/** The keys the schema accepts at `path`, for "did you mean". */
function allowedKeysAt(schema: z.ZodType, path: IssuePath): string[] {
  let nodes = [schema];
  for (const key of path) {
    nodes = nodes.flatMap((node) => childSchemas(node, key));
  }
  return [
    ...new Set(
      nodes.flatMap((node) =>
        unwrap(node).flatMap((s) => (isObject(s) ? Object.keys(s.shape) : [])),
      ),
    ),
  ];
}

function childSchemas(schema: z.ZodType, key: PropertyKey): z.ZodType[] {
  return unwrap(schema).flatMap((s): z.ZodType[] => {
    if (isObject(s)) {
      const child = s.shape[String(key)];
      return child === undefined ? [] : [child as z.ZodType];
    }
    if (s instanceof z.ZodArray) return [s.element as z.ZodType];
    if (s instanceof z.ZodRecord) return [s.valueType as z.ZodType];
    return [];
  });
}

/** The schemas a value may actually be checked against, through optional, pipes and unions. */
function unwrap(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) {
    return unwrap(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodDefault) return unwrap(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodPipe) return unwrap(schema.in as z.ZodType);
  if (schema instanceof z.ZodUnion) {
    return (schema.options as z.ZodType[]).flatMap((option) => unwrap(option));
  }
  return [schema];
}

function isObject(schema: z.ZodType): schema is z.ZodObject {
  return schema instanceof z.ZodObject;
}
