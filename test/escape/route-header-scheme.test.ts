// Sandbox escape through a route whose token goes in a header the manifest names
// (`auth: {header: x-goog-api-key, …}`, as Gemini's API reads it): the upstream must get
// the real token only in that header, only on the route's host, once, whatever the agent
// sent there itself (another spelling, twice, or nothing), and the agent must never read
// it back from an echo. Everything is asserted on what the recording stand-in received.
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { curlThrough, EGRESS_PROXY } from "../support/docker/escape-bottle.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { encodedForms } from "../support/fixtures/encoded-forms.js";
import {
  everythingReceived,
  headerValues,
  type RecordingUpstream,
  type StandInRequest,
} from "../support/standins/escape-standins.js";

const TOKEN = "cbtest-header-route-token-4e8a2c6b1d";
const PLACEHOLDER = "egress-placeholder-".repeat(2).slice(0, TOKEN.length);
const ROUTE = "gen.example.test";
const OTHER = "other.example.test";

const tokenIn = (text: string) => encodedForms(TOKEN).filter((form) => text.includes(form));

describeWithEngine("escape: a route whose token goes in a header it names", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  const received = suite.receivedInEachTest(() => upstream);
  const curl = (url: string, args = "") =>
    curlThrough(bottle, url, { proxy: EGRESS_PROXY, args: `-i ${args}` });

  beforeAll(async () => {
    bottle = await suite.startBottle("hdr", {
      bottle: `
env:
  GEMINI_API_KEY: placeholder-egress-injects-the-real-key
egress:
  allow: [${OTHER}]
  routes:
    - host: ${ROUTE}
      auth: { header: X-Goog-Api-Key, token_env: CB_HEADER_TOKEN }
supervise: false
`,
      env: { CB_HEADER_TOKEN: TOKEN },
    });
    upstream = await suite.startUpstream(bottle, [ROUTE, OTHER]);
  });

  it("puts the token in the named header on the route's host, replacing the agent's placeholder (the control)", async () => {
    const r = await curl(`https://${ROUTE}/v1beta/models`, `-H "x-goog-api-key: $GEMINI_API_KEY"`);
    expect(r.connect).toBe(200);
    expect(r.http).toBe(200);
    const [seen] = await received();
    expect(headerValues(seen as StandInRequest, "x-goog-api-key")).toEqual([TOKEN]);
    expect(tokenIn(r.body)).toEqual([]);
  });

  it("sends it exactly once whatever the agent wrote: another case, twice, or not at all", async () => {
    for (const args of [
      "-H 'X-GOOG-API-KEY: agent-value'",
      "-H 'x-goog-api-key: one' -H 'X-Goog-Api-Key: two'",
      "",
    ]) {
      const r = await curl(`https://${ROUTE}/v1beta/x`, args);
      expect(r.http, args).toBe(200);
    }
    const seen = await received();
    expect(seen).toHaveLength(3);
    for (const request of seen) {
      expect(headerValues(request, "x-goog-api-key")).toEqual([TOKEN]);
    }
  });

  it("drops the credentials the agent sent in other headers", async () => {
    await curl(
      `https://${ROUTE}/v1beta/x`,
      "-H 'Authorization: Bearer agent-held' -H 'X-Api-Key: agent-held' -H 'Proxy-Authorization: Basic YTpi'",
    );
    const [seen] = await received();
    const request = seen as StandInRequest;
    expect(headerValues(request, "authorization")).toEqual([]);
    expect(headerValues(request, "x-api-key")).toEqual([]);
    expect(headerValues(request, "proxy-authorization")).toEqual([]);
    expect(headerValues(request, "x-goog-api-key")).toEqual([TOKEN]);
  });

  it("never sends the token to another host, even one the agent addresses with the same header", async () => {
    for (const url of [
      `https://${OTHER}/v1beta/models`,
      `http://${OTHER}/v1beta/models`,
      `https://${OTHER.toUpperCase()}/v1beta/models`,
    ]) {
      await curl(url, `-H "x-goog-api-key: $GEMINI_API_KEY"`);
    }
    const seen = await received();
    expect(seen.length).toBeGreaterThan(0);
    expect(tokenIn(everythingReceived(seen, []))).toEqual([]);
    for (const request of seen) {
      expect(headerValues(request, "x-goog-api-key")).toEqual([
        "placeholder-egress-injects-the-real-key",
      ]);
    }
  });

  it("shows the agent only the placeholder where the upstream echoes the header back", async () => {
    for (const as of ["json", "gzip"]) {
      const r = await curl(`https://${ROUTE}/v1beta/echo?as=${as}`, "--compressed");
      expect(r.http, as).toBe(200);
      expect(tokenIn(r.body), as).toEqual([]);
      expect(r.body, as).toContain(`"x-goog-api-key":"${PLACEHOLDER}"`);
    }
    expect((await received()).every((q) => headerValues(q, "x-goog-api-key")[0] === TOKEN)).toBe(
      true,
    );
  });

  it("never holds the token in the agent's environment or files", async () => {
    const r = await bottle.exec(
      "env; cat ~/.gemini/settings.json ~/.claude.json 2>/dev/null; true",
    );
    expect(tokenIn(r.stdout)).toEqual([]);
    expect(r.stdout).toContain("GEMINI_API_KEY=placeholder-egress-injects-the-real-key");
  });
});
