// Sandbox escape, by names and by rate: under an allowed "*.domain" the agent can spell a
// secret in ordinary words, one new name at a time (each reaches the domain's name server);
// and which clean request it sends, how often, can carry data at link speed. From inside a
// real bottle, as the agent user: past the bottle's budget of names a new name is refused
// before pipelock resolves it, and the recording stand-in (which answers every name used
// here) never sees it; past the rate limit requests get 429 with Retry-After and the stand-in
// receives at most rate × time + burst; `info --json` shows the counts; traffic under the
// limits passes (the control).
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { curlThrough } from "../support/docker/escape-bottle.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import type { RecordingUpstream } from "../support/standins/escape-standins.js";

const WILD = "words.example.test";
const RATED = "rated.example.test";
const FREE = "free.example.test";
/** Ordinary words: each passes the label bounds, so only the budget stops the fourth. */
const WORDS = ["apple", "banana", "cherry", "damson", "elder"];
const BUDGET = 3;
const RATE = 2;
const BURST = 5;

describeWithEngine("escape: names under a wildcard and the request rate", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  const received = suite.receivedInEachTest(() => upstream);

  beforeAll(async () => {
    bottle = await suite.startBottle("names-rate", {
      bottle: `
egress:
  allow: [${RATED}, ${FREE}, "*.${WILD}"]
  wildcard_names: ${BUDGET}
  rate_limit:
    hosts:
      - {host: ${RATED}, per_second: ${RATE}, burst: ${BURST}}
supervise: false
`,
    });
    // Every name, the refused ones too, answers on the stand-in: a leak would land there.
    upstream = await suite.startUpstream(bottle, [
      RATED,
      FREE,
      ...WORDS.map((w) => `${w}.${WILD}`),
    ]);
  });

  it("refuses a new name past the wildcard's budget, and the stand-in never sees it", async () => {
    const statuses: string[] = [];
    for (const word of WORDS) {
      const r = await curlThrough(bottle, `https://${word}.${WILD}/names/${word}`);
      statuses.push(`${word} ${r.connect} ${r.http}`);
    }
    expect(statuses).toEqual([
      "apple 200 200",
      "banana 200 200",
      "cherry 200 200",
      "damson 403 0",
      "elder 403 0",
    ]);
    const requests = await received();
    expect(requests.map((r) => r.url).sort()).toEqual([
      "/names/apple",
      "/names/banana",
      "/names/cherry",
    ]);
    // Nothing of the refused names reached the stand-in: no request, no server name.
    const seen = JSON.stringify(requests);
    expect(seen).not.toContain("damson");
    expect(seen).not.toContain("elder");
    const refused = (await bottle.pipelockAudit()).filter((e) => e.rule === "wildcard-name-budget");
    expect(refused.map((e) => [e.method, e.host, e.status])).toEqual([
      ["CONNECT", `damson.${WILD}`, 403],
      ["CONNECT", `elder.${WILD}`, 403],
    ]);
    // A name used before still works.
    expect(await curlThrough(bottle, `https://banana.${WILD}/names/again`)).toMatchObject({
      connect: 200,
      http: 200,
    });
    // The refusal the agent reads names the wildcard and the budget (plain http shows it).
    const plain = await curlThrough(bottle, `http://damson.${WILD}/names/plain`);
    expect(plain.http).toBe(403);
    expect(plain.body).toContain(`would be a new name under "*.${WILD}"`);
    expect(plain.body).toContain(`its budget of ${BUDGET} distinct names`);
  });

  it("answers 429 with Retry-After past the rate, and the stand-in gets at most rate × time + burst", async () => {
    const n = 30;
    const r = await bottle.exec(
      `start=$(date +%s.%N); for i in $(seq 1 ${n}); do ` +
        `curl -sS -m 15 --noproxy '' -D /tmp/rate-h$i -o /dev/null -w '%{http_code}\\n' "https://${RATED}/rate/$i"; ` +
        `done; end=$(date +%s.%N); echo "elapsed $(echo "$end - $start" | bc 2>/dev/null || awk "BEGIN{print $end-$start}")"; ` +
        `grep -il '^retry-after: [0-9]' /tmp/rate-h* | wc -l`,
    );
    const lines = r.stdout.trim().split("\n");
    const withRetryAfter = Number(lines.pop());
    const elapsed = Number((lines.pop() ?? "").replace("elapsed ", ""));
    const codes = lines.map(Number);
    expect(codes).toHaveLength(n);
    const passed = codes.filter((c) => c === 200).length;
    const limited = codes.filter((c) => c === 429).length;
    expect(passed + limited).toBe(n);
    expect(limited).toBeGreaterThan(0);
    expect(withRetryAfter).toBe(limited);
    const bound = Math.floor(RATE * elapsed + BURST);
    expect(passed).toBeLessThanOrEqual(bound);
    const reached = (await received()).filter((q) => q.url.startsWith("/rate/")).length;
    expect(reached).toBe(passed);
    expect(reached).toBeLessThanOrEqual(bound);
  });

  it("shows each host's refusals and bursts, and the wildcard's names, in info --json", async () => {
    const result = await suite.home.runOk(["info", bottle.slug, "--json"]);
    const info = JSON.parse(result.stdout) as {
      limits: {
        rate: { host: string; refusals: number; bursts: number }[];
        names: { wildcard: string; used: number; budget: number; refusals: number }[];
      };
    };
    const rated = info.limits.rate.find((x) => x.host === RATED);
    expect(rated?.refusals).toBeGreaterThan(0);
    expect(rated?.bursts).toBeGreaterThanOrEqual(1);
    expect(info.limits.names).toContainEqual({
      wildcard: `*.${WILD}`,
      used: BUDGET,
      budget: BUDGET,
      // Two CONNECTs and one plain request were refused.
      refusals: 3,
    });
  });

  it("passes ordinary traffic under the limits (the control)", async () => {
    const r = await bottle.exec(
      `for i in $(seq 1 20); do curl -sS -m 15 --noproxy '' -o /dev/null -w '%{http_code} ' "https://${FREE}/free/$i"; done`,
    );
    expect(r.stdout.trim().split(" ")).toEqual(Array.from({ length: 20 }, () => "200"));
    expect((await received()).filter((q) => q.url.startsWith("/free/"))).toHaveLength(20);
  });
});
