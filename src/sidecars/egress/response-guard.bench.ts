// What the response guard adds to the route path, beside the token scrub it runs after:
// `npx vitest bench --run --project unit src/sidecars/egress`. Each body is an answer a model
// API or a REST API sends (JSON with prose, an event stream's events one by one); MB/s is
// hz × the body's size.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { bench, describe } from "vitest";
import { ResponseGuard } from "./response-guard.js";
import { TokenScrubber, tokenForms } from "./token-scrub.js";

const TOKEN = "sk-bench-9Qh2Xv7LmR4tNc8ZpW3bYd6KfJ1s";
const require = createRequire(import.meta.url);
const prose = readFileSync(require.resolve("typescript/lib/lib.dom.d.ts"), "latin1").slice(
  0,
  256 * 1024,
);
const json = (bytes: number) =>
  Buffer.from(
    JSON.stringify({
      id: "msg_1",
      content: [{ type: "text", text: prose.repeat(Math.ceil(bytes / prose.length)) }],
    }).slice(0, bytes),
    "latin1",
  );
const small = json(2 * 1024);
const large = json(1024 * 1024);
const events = Array.from({ length: 256 }, (_, i) =>
  Buffer.from(
    `event: delta\ndata: {"index":${i},"text":${JSON.stringify(prose.slice(i * 40, i * 40 + 40))}}\n\n`,
  ),
);

const forms = tokenForms([TOKEN]);
const guard = new ResponseGuard([TOKEN]);

describe("a 2 KiB JSON answer", () => {
  bench("scrub", () => {
    new TokenScrubber(forms).finish(small);
  });
  bench("scrub + guard", () => {
    guard.check(new TokenScrubber(forms).finish(small), "body", "application/json");
  });
});

describe("a 1 MiB JSON answer", () => {
  bench("scrub", () => {
    new TokenScrubber(forms).finish(large);
  });
  bench("scrub + guard", () => {
    guard.check(new TokenScrubber(forms).finish(large), "body", "application/json");
  });
});

describe("an event stream of 256 events, read one by one", () => {
  bench("scrub", () => {
    const s = new TokenScrubber(forms);
    for (const e of events) s.push(e);
    s.finish();
  });
  bench("scrub + guard", () => {
    const s = new TokenScrubber(forms);
    const read = guard.messageReader();
    for (const e of events) read(s.push(e), "body");
    s.finish();
  });
});

describe("egress start", () => {
  bench("building the guard for one route token", () => {
    new ResponseGuard([TOKEN]);
  });
});
