// Nothing in the CLI hands a shell a string it built from data: every `sh -c` / `bash -c`
// script in src/ is a constant (string literals, and templates whose every `${…}` is itself a
// constant, followed through `const` bindings and imports); what varies reaches the script
// as a positional argument ("$1", "$@") or an environment variable, which the shell never
// parses as code. No `shell: true` spawn option, and no child_process `exec`/`execSync`
// (they always run a shell). Each finding names its file and line.
//
// A script held in a parameter is followed to the calls of its function in the same file
// (`inAgent(rig, \`curl …${x}\`)`, or an object argument's property: `how.script`); a script
// that reaches the spawn in any other way is reported, since it cannot be shown constant.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const SRC = join(ROOT, "src");

/**
 * Shell scripts built from data that the CLI never runs on the host or in a bottle, each with
 * why it is safe. `file:line-text` of the script expression; a stale entry fails the test.
 */
const ALLOWED: Record<string, string> = {
  'src/core/compose.ts: `exec 3<>/dev/tcp/${hostname}/${port} && printf \'${request}\' >&3 && IFS= read -r line <&3 && [[ $line == "HTTP/1."[01]" 200 "* ]]`':
    "a Compose healthcheck the engine runs inside a sidecar, from one of three URLs that are " +
    "constants of claude-bottle's own (httpHealthcheck's callers); the CLI does not run it",
  'src/backend/kubernetes/kubernetes-objects.ts: hc.test.slice(1).join(" ")':
    "a Kubernetes probe rendered from a Compose CMD-SHELL healthcheck that claude-bottle " +
    "itself wrote; nothing in it comes from a bottle, and the CLI does not run it",
};

const PURE = new Set(["String", "dirname", "basename", "join"]);
const SHELL = /^(?:\/(?:usr\/)?bin\/)?(?:ba|da|z|k|a)?sh$/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (
      entry.name.endsWith(".ts") &&
      !entry.name.endsWith(".test.ts") &&
      !entry.name.endsWith(".d.ts")
    ) {
      out.push(path);
    }
  }
  return out;
}

const parsed = new Map<string, ts.SourceFile | null>();

function parse(path: string): ts.SourceFile | null {
  if (!parsed.has(path)) {
    let text: string | null = null;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      text = null;
    }
    parsed.set(
      path,
      text === null ? null : ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true),
    );
  }
  return parsed.get(path) ?? null;
}

function unwrap(e: ts.Expression): ts.Expression {
  let x = e;
  while (
    ts.isParenthesizedExpression(x) ||
    ts.isAsExpression(x) ||
    ts.isSatisfiesExpression(x) ||
    ts.isNonNullExpression(x) ||
    ts.isTypeAssertionExpression(x)
  ) {
    x = x.expression;
  }
  return x;
}

function isConstDeclaration(d: ts.VariableDeclaration): boolean {
  return ts.isVariableDeclarationList(d.parent) && (d.parent.flags & ts.NodeFlags.Const) !== 0;
}

/** The `const name = …` in this file (the nearest enclosing scope's first), if any. */
function constNamed(file: ts.SourceFile, name: string): ts.VariableDeclaration | null {
  let found: ts.VariableDeclaration | null = null;
  const visit = (n: ts.Node): void => {
    if (found !== null) return;
    if (
      ts.isVariableDeclaration(n) &&
      ts.isIdentifier(n.name) &&
      n.name.text === name &&
      isConstDeclaration(n)
    ) {
      found = n;
      return;
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  return found;
}

/** The file and exported name an imported identifier comes from. */
function importOf(file: ts.SourceFile, name: string): { file: ts.SourceFile; name: string } | null {
  for (const st of file.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const bindings = st.importClause?.namedBindings;
    if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
    for (const spec of bindings.elements) {
      if (spec.name.text !== name) continue;
      const target = resolve(
        dirname(file.fileName),
        st.moduleSpecifier.text.replace(/\.js$/, ".ts"),
      );
      const from = parse(target);
      return from === null ? null : { file: from, name: (spec.propertyName ?? spec.name).text };
    }
  }
  return null;
}

/** The parameter of an enclosing function that `name` refers to, with its index. */
function parameterNamed(
  at: ts.Node,
  name: string,
): { fn: ts.SignatureDeclaration; index: number } | null {
  for (let n: ts.Node | undefined = at; n !== undefined; n = n.parent) {
    if (ts.isFunctionLike(n)) {
      const index = n.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === name);
      if (index >= 0) return { fn: n, index };
    }
  }
  return null;
}

/** The name a function is called by in its file: `function f`, `const f = () =>`. */
function functionName(fn: ts.SignatureDeclaration): string | null {
  if (ts.isFunctionDeclaration(fn) && fn.name !== undefined) return fn.name.text;
  if (
    (ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) &&
    ts.isVariableDeclaration(fn.parent) &&
    ts.isIdentifier(fn.parent.name)
  ) {
    return fn.parent.name.text;
  }
  return null;
}

/** The arguments at `index` of every call of `name` in the file. */
function callArguments(file: ts.SourceFile, name: string, index: number): ts.Expression[] | null {
  const args: ts.Expression[] = [];
  let escapes = false;
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === name) {
      const arg = n.arguments[index];
      if (arg === undefined || n.arguments.some(ts.isSpreadElement)) escapes = true;
      else args.push(arg);
    } else if (
      ts.isIdentifier(n) &&
      n.text === name &&
      !ts.isCallExpression(n.parent) &&
      !ts.isFunctionDeclaration(n.parent) &&
      !ts.isVariableDeclaration(n.parent)
    ) {
      escapes = true; // passed around as a value: its calls cannot all be seen here
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  return escapes ? null : args;
}

type Verdict = { constant: true } | { constant: false; why: string };
const CONSTANT: Verdict = { constant: true };

/** Whether `expr` in `file` can only ever be one fixed string (or number). */
function constantIn(file: ts.SourceFile, expr: ts.Expression, depth = 0): Verdict {
  if (depth > 12) return { constant: false, why: "too deep to follow" };
  const e = unwrap(expr);
  const text = e.getText(file);
  const all = (parts: readonly ts.Expression[]): Verdict => {
    for (const p of parts) {
      const v = constantIn(file, p, depth + 1);
      if (!v.constant) return v;
    }
    return CONSTANT;
  };
  if (
    ts.isStringLiteral(e) ||
    ts.isNoSubstitutionTemplateLiteral(e) ||
    ts.isNumericLiteral(e) ||
    e.kind === ts.SyntaxKind.TrueKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword
  ) {
    return CONSTANT;
  }
  if (ts.isTemplateExpression(e)) return all(e.templateSpans.map((s) => s.expression));
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return all([e.left, e.right]);
  }
  if (ts.isArrayLiteralExpression(e)) return all(e.elements);
  if (
    ts.isCallExpression(e) &&
    ts.isPropertyAccessExpression(e.expression) &&
    e.expression.name.text === "join"
  ) {
    return all([e.expression.expression, ...e.arguments]);
  }
  // Pure functions of their arguments: a constant in, a constant out.
  if (ts.isCallExpression(e) && ts.isIdentifier(e.expression) && PURE.has(e.expression.text)) {
    return all(e.arguments);
  }
  if (ts.isIdentifier(e)) {
    const param = parameterNamed(e, e.text);
    if (param !== null) return constantAtCalls(file, param, null, text, depth);
    const local = constNamed(file, e.text);
    if (local?.initializer !== undefined) return constantIn(file, local.initializer, depth + 1);
    const imported = importOf(file, e.text);
    if (imported !== null) {
      const there = constNamed(imported.file, imported.name);
      if (there?.initializer !== undefined) {
        return constantIn(imported.file, there.initializer, depth + 1);
      }
    }
    return { constant: false, why: `${text} is not a constant` };
  }
  if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression)) {
    const owner = e.expression.text;
    const prop = e.name.text;
    const param = parameterNamed(e, owner);
    if (param !== null) return constantAtCalls(file, param, prop, text, depth);
    // `CONST.prop` of an object literal bound to a const, here or imported.
    const where = constNamed(file, owner) !== null ? { file, name: owner } : importOf(file, owner);
    const decl = where === null ? null : constNamed(where.file, where.name);
    const init = decl?.initializer === undefined ? null : unwrap(decl.initializer);
    if (where !== null && init !== null && ts.isObjectLiteralExpression(init)) {
      const assigned = init.properties.find(
        (p): p is ts.PropertyAssignment =>
          ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === prop,
      );
      if (assigned !== undefined) return constantIn(where.file, assigned.initializer, depth + 1);
    }
    return { constant: false, why: `${text} is not a constant` };
  }
  return { constant: false, why: `${text} is built at run time` };
}

/** A parameter (or a property of one) is constant when every call passes a constant. */
function constantAtCalls(
  file: ts.SourceFile,
  param: { fn: ts.SignatureDeclaration; index: number },
  prop: string | null,
  text: string,
  depth: number,
): Verdict {
  const name = functionName(param.fn);
  const args = name === null ? null : callArguments(file, name, param.index);
  if (args === null || args.length === 0) {
    return { constant: false, why: `${text} comes from a caller that cannot be followed` };
  }
  for (const arg of args) {
    let value: ts.Expression | null = arg;
    if (prop !== null) {
      const obj = unwrap(arg);
      const assigned = ts.isObjectLiteralExpression(obj)
        ? obj.properties.find(
            (p): p is ts.PropertyAssignment =>
              ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === prop,
          )
        : undefined;
      value = assigned?.initializer ?? null;
    }
    if (value === null) {
      return { constant: false, why: `${text} comes from a caller that cannot be followed` };
    }
    const v = constantIn(file, value, depth + 1);
    if (!v.constant) {
      const line = file.getLineAndCharacterOfPosition(arg.getStart(file)).line + 1;
      return { constant: false, why: `${text} is passed at line ${line}: ${v.why}` };
    }
  }
  return CONSTANT;
}

function isShellWord(e: ts.Expression): boolean {
  return (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) && SHELL.test(e.text);
}

interface Finding {
  where: string;
  key: string;
  problem: string;
}

function findShellStrings(path: string): Finding[] {
  const file = parse(path);
  if (file === null) return [];
  const rel = relative(ROOT, path);
  const findings: Finding[] = [];
  const at = (n: ts.Node) =>
    `${rel}:${file.getLineAndCharacterOfPosition(n.getStart(file)).line + 1}`;
  const visit = (n: ts.Node): void => {
    if (ts.isArrayLiteralExpression(n)) {
      const els = n.elements;
      for (let i = 1; i + 1 < els.length; i++) {
        const shell = els[i - 1];
        const flag = els[i];
        const script = els[i + 1];
        if (shell === undefined || flag === undefined || script === undefined) continue;
        if (!ts.isStringLiteral(flag) || flag.text !== "-c") continue;
        if (!isShellWord(shell)) {
          // `docker run --entrypoint sh IMAGE -c SCRIPT`: the shell two places back.
          const entry = els[i - 3];
          const named = els[i - 2];
          if (
            entry === undefined ||
            named === undefined ||
            !ts.isStringLiteral(entry) ||
            entry.text !== "--entrypoint" ||
            !isShellWord(named)
          ) {
            continue;
          }
        }
        const v = constantIn(file, script);
        if (!v.constant) {
          findings.push({
            where: at(script),
            key: `${rel}: ${script.getText(file)}`,
            problem: `shell -c with a script built from data (${v.why}): pass what varies as "$1" or an environment variable`,
          });
        }
      }
    }
    if (
      ts.isPropertyAssignment(n) &&
      ts.isIdentifier(n.name) &&
      n.name.text === "shell" &&
      (n.initializer.kind === ts.SyntaxKind.TrueKeyword || isShellWord(n.initializer))
    ) {
      findings.push({
        where: at(n),
        key: `${rel}: ${n.getText(file)}`,
        problem: "spawn option shell: give the program and an argv instead",
      });
    }
    if (
      ts.isImportDeclaration(n) &&
      ts.isStringLiteral(n.moduleSpecifier) &&
      /^(node:)?child_process$/.test(n.moduleSpecifier.text)
    ) {
      const bindings = n.importClause?.namedBindings;
      if (bindings !== undefined && ts.isNamedImports(bindings)) {
        for (const spec of bindings.elements) {
          const imported = (spec.propertyName ?? spec.name).text;
          if (imported === "exec" || imported === "execSync") {
            findings.push({
              where: at(spec),
              key: `${rel}: ${imported}`,
              problem: `child_process ${imported} runs its command through a shell: use spawn/execFile with an argv`,
            });
          }
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  return findings;
}

describe("no shell strings", () => {
  const findings = sourceFiles(SRC).flatMap(findShellStrings);

  it("no sh -c / bash -c script is built from data, no shell: true, no exec", () => {
    const report = findings
      .filter((f) => ALLOWED[f.key] === undefined)
      .map((f) => `${f.where}: ${f.problem}`);
    expect(report).toEqual([]);
  });

  it("every allowed exception still exists (remove it when its code goes)", () => {
    const keys = new Set(findings.map((f) => f.key));
    expect(Object.keys(ALLOWED).filter((k) => !keys.has(k))).toEqual([]);
  });
});

describe("the scanner", () => {
  // Each case is a small module: the scanner reports exactly one line of each `reported`
  // case and none of a `passed` one.
  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: the cases are source text
  const reported: Record<string, string> = {
    "a template with a run-time value": "const x = f(); run(['sh', '-c', `echo ${x}`]);",
    "a concatenation": "run(['bash', '-c', 'echo ' + name]);",
    "a script variable built from data": "const s = `ls ${dir}`; run(['sh', '-c', s]);",
    "a parameter fed a template": "function go(s: string) { run(['sh', '-c', s]); } go(`x ${y}`);",
    "an object parameter's property":
      "function go(h: {s: string}) { run(['sh','-c',h.s]); } go({ s: v });",
    "shell: true": "spawn('ls', [], { shell: true });",
    "shell: a shell's path": "spawn('ls', [], { shell: '/bin/bash' });",
    "docker run --entrypoint sh": "run(['run', '--entrypoint', 'sh', IMG, '-c', xs.join(' ')]);",
    "child_process exec": "import { exec } from 'node:child_process';",
  };
  const passed: Record<string, string> = {
    "a shell field that is data": "const turns = [{ shell: `curl ${H}` }];",
    "a path function of constants": "const A = '/w'; run(['sh', '-c', `cd ${dirname(A)}`]);",
    "a constant script": "const D = '/w'; const S = `cd ${D} && ls`; run(['sh', '-c', S]);",
    "positional arguments": "run(['sh', '-c', 'cat \"$1\"', 'sh', path]);",
    "a parameter fed constants":
      "function go(s: string) { run(['sh', '-c', s]); } go('ls'); go(`a ${'b'}`);",
    "a constant object's property":
      "const H = { a: 'x' } as const; run(['sh', '-c', `curl ${H.a}`]);",
    "not a shell": "run(['git', '-c', `core.x=${v}`]);",
  };
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: the cases are source text

  const cases = [
    ...Object.entries(reported).map(([name, code]) => ({ name, code, count: 1 })),
    ...Object.entries(passed).map(([name, code]) => ({ name, code, count: 0 })),
  ];

  it.each(cases)("$name", ({ code, count }) => {
    const path = join(SRC, `__scanner_case_${count}.ts`);
    parsed.set(path, ts.createSourceFile(path, code, ts.ScriptTarget.Latest, true));
    try {
      expect(findShellStrings(path)).toHaveLength(count);
    } finally {
      parsed.delete(path);
    }
  });
});
