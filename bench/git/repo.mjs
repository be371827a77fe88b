// The repository bench/git pushes, generated deterministically as a `git fast-import`
// stream: a linear history of COMMITS commits that grows to FILES source-like files
// (TypeScript, Python, Go, Markdown), each later commit adding a file or two and
// rewriting or extending a few others. Same seed, same bytes, same commit ids.
// It holds nothing secret-shaped: no credential words, no high-entropy literals.

export const COMMITS = 200;
export const FILES = 300;
const FIRST_COMMIT_FILES = 40;
const EPOCH = 1_700_000_000;

// Identifier words. None contains a substring gitleaks' generic rule keys on.
const WORDS = (
  "order line stock price batch queue route report ledger parcel shelf cart invoice " +
  "vendor region season label group sample window buffer cursor record metric index " +
  "layout widget panel column filter sorter planner builder reader writer parser " +
  "loader mapper bucket channel signal status budget margin weight volume count " +
  "total limit offset range scale delta frame track store cache merge split join " +
  "render format export import select update remove create"
).split(" ");
const FORBIDDEN = /key|api|tok|secret|client|pass|pwd|auth|access|cred|priv/;
for (const word of WORDS) {
  if (FORBIDDEN.test(word)) throw new Error(`word list: "${word}" looks credential-like`);
}

/** mulberry32: small, fast, and the same on every platform. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateRepo(seed = 20240611) {
  const rand = prng(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const cap = (w) => w[0].toUpperCase() + w.slice(1);
  const camel = (n) => {
    const ws = Array.from({ length: n }, () => pick(WORDS));
    return ws[0] + ws.slice(1).map(cap).join("");
  };
  const snake = (n) => Array.from({ length: n }, () => pick(WORDS)).join("_");
  const pascal = (n) => cap(camel(n));

  const body = {
    ts() {
      const type = pascal(2);
      const lines = [
        `export function ${camel(3)}(input: ${type}[], limit = ${int(2, 200)}): ${type}[] {`,
        `  const result: ${type}[] = [];`,
        "  for (const item of input) {",
      ];
      for (let i = int(3, 12); i > 0; i--) {
        lines.push(
          pick([
            `    if (item.${camel(1)} > ${int(0, 999)}) result.push({ ...item, ${camel(1)}: item.${camel(1)} - ${int(1, 9)} });`,
            `    const ${camel(2)} = item.${camel(1)} * ${int(2, 64)} + ${int(0, 99)};`,
            `    // ${pick(WORDS)} the ${pick(WORDS)} before the ${pick(WORDS)} is ${pick(WORDS)}ed`,
            `    if (result.length >= limit) break;`,
            `    log.debug("${pick(WORDS)} ${pick(WORDS)}", { ${camel(1)}: item.${camel(1)} });`,
          ]),
        );
      }
      lines.push("  }", "  return result;", "}", "");
      return lines.join("\n");
    },
    py() {
      const lines = [
        `def ${snake(3)}(items, limit=${int(2, 200)}):`,
        `    """${cap(pick(WORDS))} each ${pick(WORDS)} by ${pick(WORDS)}."""`,
        "    out = []",
        "    for item in items:",
      ];
      for (let i = int(3, 12); i > 0; i--) {
        lines.push(
          pick([
            `        if item.${snake(1)} > ${int(0, 999)}:\n            out.append(item)`,
            `        ${snake(2)} = item.${snake(1)} * ${int(2, 64)} + ${int(0, 99)}`,
            `        # ${pick(WORDS)} the ${pick(WORDS)} after the ${pick(WORDS)}`,
            "        if len(out) >= limit:\n            break",
            `        logger.debug("${pick(WORDS)} %s", item.${snake(1)})`,
          ]),
        );
      }
      lines.push("    return out", "", "");
      return lines.join("\n");
    },
    go() {
      const type = pascal(2);
      const lines = [
        `func ${pascal(3)}(items []${type}, limit int) []${type} {`,
        `\tout := make([]${type}, 0, ${int(4, 64)})`,
        "\tfor _, item := range items {",
      ];
      for (let i = int(3, 12); i > 0; i--) {
        lines.push(
          pick([
            `\t\tif item.${pascal(1)} > ${int(0, 999)} {\n\t\t\tout = append(out, item)\n\t\t}`,
            `\t\t${camel(2)} := item.${pascal(1)}*${int(2, 64)} + ${int(0, 99)}\n\t\t_ = ${camel(1)}`,
            `\t\t// ${cap(pick(WORDS))} the ${pick(WORDS)} unless the ${pick(WORDS)} is empty.`,
            "\t\tif len(out) >= limit {\n\t\t\tbreak\n\t\t}",
          ]),
        );
      }
      lines.push("\t}", "\treturn out", "}", "");
      return lines.join("\n");
    },
    md() {
      const lines = [`## ${cap(pick(WORDS))} ${pick(WORDS)}`, ""];
      for (let i = int(3, 8); i > 0; i--) {
        lines.push(
          Array.from({ length: int(8, 16) }, () => pick(WORDS)).join(" ") +
            `, see \`${camel(2)}\` (${int(1, 99)}).`,
        );
      }
      lines.push("");
      return lines.join("\n");
    },
  };
  const header = {
    ts: () =>
      `import { log } from "../log.js";\nimport type { ${pascal(2)} } from "./${pick(WORDS)}.js";\n\n`,
    py: () => `import logging\n\nlogger = logging.getLogger(__name__)\n\n\n`,
    go: () => `package ${pick(WORDS)}\n\n`,
    md: () => `# ${cap(pick(WORDS))} ${pick(WORDS)}\n\n`,
  };
  const layout = { ts: "src", py: "lib", go: "pkg", md: "docs" };
  const ext = { ts: "ts", py: "py", go: "go", md: "md" };
  const kinds = ["ts", "ts", "ts", "py", "go", "md"];

  const files = []; // { path, kind, head, blocks }
  const paths = new Set();
  const newFile = () => {
    const kind = pick(kinds);
    let path;
    do {
      path = `${layout[kind]}/${pick(WORDS)}/${kind === "py" ? snake(2) : `${pick(WORDS)}-${pick(WORDS)}`}.${ext[kind]}`;
    } while (paths.has(path));
    paths.add(path);
    const blocks = Array.from({ length: int(8, 24) }, () => body[kind]());
    const file = { path, kind, head: header[kind](), blocks };
    files.push(file);
    return file;
  };
  const text = (f) => f.head + f.blocks.join("\n");
  const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;

  const out = [];
  let contentBytes = 0;
  const addedPerCommit = (FILES - FIRST_COMMIT_FILES) / (COMMITS - 1);
  for (let c = 0; c < COMMITS; c++) {
    const touched = new Set();
    if (c === 0) {
      for (let i = 0; i < FIRST_COMMIT_FILES; i++) touched.add(newFile());
    } else {
      const target = Math.round(FIRST_COMMIT_FILES + addedPerCommit * c);
      while (files.length < target) touched.add(newFile());
      for (let i = int(1, 5); i > 0; i--) {
        const f = pick(files);
        if (touched.has(f)) continue;
        const at = int(0, f.blocks.length - 1);
        const op = rand();
        if (op < 0.5) f.blocks[at] = body[f.kind]();
        else if (op < 0.9) f.blocks.splice(at, 0, body[f.kind]());
        else if (f.blocks.length > 2) f.blocks.splice(at, 1);
        touched.add(f);
      }
    }
    const when = `${EPOCH + c * 3_600} +0000`;
    const subject =
      c === 0
        ? "Initial layout"
        : `${pick(WORDS)}: ${pick(WORDS)} the ${pick(WORDS)} ${pick(WORDS)}`;
    out.push(
      "commit refs/heads/main\n",
      `author Bench Author <author@example.test> ${when}\n`,
      `committer Bench Author <author@example.test> ${when}\n`,
      data(`${subject}\n\nTouches ${touched.size} file(s).`),
    );
    for (const f of touched) {
      const t = text(f);
      contentBytes += Buffer.byteLength(t);
      out.push(`M 100644 inline ${f.path}\n`, data(t));
    }
    out.push("\n");
  }
  out.push("done\n");
  return { stream: out.join(""), files: files.length, contentBytes };
}
