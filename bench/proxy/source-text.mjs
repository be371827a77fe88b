// Deterministic source-like text (TypeScript-shaped lines from a fixed vocabulary) for the
// upload bodies and the DLP corpus. It must never contain anything credential-shaped: strings
// are words, never random characters, so neither scanner finds anything it was not given.

const WORDS = [
  "account",
  "address",
  "agent",
  "allow",
  "answer",
  "apply",
  "audit",
  "batch",
  "body",
  "bottle",
  "buffer",
  "build",
  "cache",
  "check",
  "chunk",
  "client",
  "close",
  "config",
  "count",
  "create",
  "cursor",
  "decode",
  "delete",
  "detail",
  "digest",
  "entry",
  "error",
  "event",
  "field",
  "filter",
  "flush",
  "format",
  "frame",
  "handle",
  "header",
  "index",
  "item",
  "label",
  "layer",
  "limit",
  "line",
  "listen",
  "load",
  "local",
  "match",
  "merge",
  "message",
  "method",
  "mount",
  "name",
  "node",
  "offset",
  "option",
  "order",
  "owner",
  "page",
  "parse",
  "path",
  "peer",
  "plan",
  "policy",
  "port",
  "prefix",
  "queue",
  "range",
  "reader",
  "record",
  "render",
  "reply",
  "report",
  "request",
  "resolve",
  "result",
  "route",
  "rule",
  "scan",
  "schema",
  "select",
  "server",
  "session",
  "shape",
  "signal",
  "slice",
  "socket",
  "source",
  "stage",
  "state",
  "status",
  "store",
  "stream",
  "table",
  "target",
  "task",
  "text",
  "timer",
  "trace",
  "update",
  "value",
  "view",
  "window",
];
const TYPES = [
  "string",
  "number",
  "boolean",
  "Buffer",
  "Uint8Array",
  "unknown",
  "readonly string[]",
];
const OPS = ["===", "!==", "<", ">", "<=", ">="];

/** mulberry32: small, fast, and the same sequence on every machine. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** About `bytes` bytes (never more) of TypeScript-like lines, the same for the same seed. */
export function sourceText(bytes, seed = 1) {
  const next = random(seed);
  const pick = (list) => list[Math.floor(next() * list.length)];
  const word = () => pick(WORDS);
  const ident = () => {
    const n = 1 + Math.floor(next() * 3);
    let out = word();
    for (let i = 1; i < n; i++) {
      const w = word();
      out += w[0].toUpperCase() + w.slice(1);
    }
    return out;
  };
  const phrase = (n) => Array.from({ length: n }, word).join(" ");
  const templates = [
    () =>
      `export function ${ident()}(${ident()}: ${pick(TYPES)}, ${ident()}: ${pick(TYPES)}): ${pick(TYPES)} {`,
    () =>
      `  const ${ident()} = ${ident()}.${ident()}(${Math.floor(next() * 4096)}, "${phrase(3)}");`,
    () => `  // ${phrase(6 + Math.floor(next() * 8))}`,
    () => `  if (${ident()}.${word()} ${pick(OPS)} ${Math.floor(next() * 100)}) return ${ident()};`,
    () => `  for (const ${word()} of ${ident()}.${word()}s) ${ident()}.push(${word()});`,
    () => `  throw new Error(\`${phrase(4)}: \${${ident()}}\`);`,
    () => `import { ${ident()}, ${ident()} } from "./${word()}-${word()}.js";`,
    () => "}",
    () => "",
  ];
  const lines = [];
  let size = 0;
  for (;;) {
    const line = `${pick(templates)()}\n`;
    if (size + line.length > bytes) break;
    lines.push(line);
    size += line.length;
  }
  return lines.join("").padEnd(bytes, "\n");
}
