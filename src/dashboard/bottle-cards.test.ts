import { describe, expect, it } from "vitest";
import { age, bottleCards, size } from "./bottle-cards.js";
import type { BottleView } from "./dashboard-views.js";
import { pageHtml } from "./page-assets.js";

const HOSTILE = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;

function bottle(over: Partial<BottleView> = {}): BottleView {
  return {
    slug: "api-work-3f9a",
    agent: "api-work",
    provider: "claude",
    bottle: "api-work",
    state: "running",
    attached: true,
    createdAt: "2030-01-01T12:00:00.000Z",
    uptimeSeconds: 2820,
    sidecars: [
      { service: "egress", state: "running", health: "healthy" },
      { service: "pipelock", state: "exited", health: null },
    ],
    hosts: ["registry.example.test"],
    dlp: "block",
    routes: [
      {
        host: "api.anthropic.com",
        paths: ["/v1/"],
        methods: "all",
        tokenEnv: "EGRESS_TOKEN_0",
        requests: 1,
        requestBytes: 48_000,
        responseBytes: 512,
      },
    ],
    remotes: [],
    gitleaksExceptions: [],
    rateRefusals: [],
    work: {
      into: "repository",
      repoDir: "/src/api",
      branchPrefix: "claude-bottle/api-work-3f9a/",
      from: "main",
    },
    ...over,
  };
}

const listing = { listedAt: 1_000, now: 1_500, staleAfterMs: 2_500 };

describe("the bottles' cards", () => {
  it("shows each host's rate-limit refusals and bursts, or that nothing was refused", () => {
    expect(bottleCards([bottle()], listing)).toContain(
      '<dt>rate limit</dt><dd><span class="empty">nothing refused</span>',
    );
    const out = bottleCards(
      [bottle({ rateRefusals: [{ host: "*.cdn.example.test", bursts: 2, refusals: 41 }] })],
      listing,
    );
    expect(out).toContain(
      'data-testid="rate-limit" data-host="*.cdn.example.test" data-refusals="41" data-bursts="2"',
    );
    expect(out).toContain("41 requests refused in 2 bursts");
  });

  it("says what the page used to draw: agent, provider, uptime, sidecars, routes and traffic", () => {
    const out = bottleCards([bottle()], listing);
    expect(out).toContain('data-testid="bottle" data-slug="api-work-3f9a"');
    expect(out).toContain(
      "agent api-work · provider claude · bottle api-work · running · up 47m · CLI attached",
    );
    expect(out).toContain('<span class="healthy sidecar">egress healthy</span>');
    expect(out).toContain('<span class="bad sidecar">pipelock exited</span>');
    expect(out).toContain(
      'data-requests="1" data-request-bytes="48000" data-response-bytes="512">1 request · 46.9 KiB sent · 512 B received',
    );
    expect(out).toContain("token EGRESS_TOKEN_0");
    expect(out).toContain('<dt>git remotes</dt><dd><span class="empty">none</span>');
    expect(out).not.toContain("data-stale");
  });

  it("escapes every value, in text and in attributes", () => {
    const withEvery = (value: string) =>
      bottleCards(
        [
          bottle({
            slug: value,
            agent: value,
            hosts: [value],
            remotes: [{ name: value, url: value }],
            gitleaksExceptions: [value],
            work: { into: "repository", repoDir: value, branchPrefix: value, from: value },
            routes: [
              {
                ...(bottle().routes[0] as BottleView["routes"][number]),
                host: value,
                paths: [value],
              },
            ],
          }),
        ],
        listing,
      );
    const out = withEvery(HOSTILE);
    // The same elements and attributes as with a harmless value: nothing was made of the data.
    const markup = (html: string) => html.match(/<\/?[a-z0-9]+|="/g);
    expect(markup(out)).toEqual(markup(withEvery("harmless")));
    expect(out).not.toContain(HOSTILE);
    expect(out).toContain("&lt;script&gt;");
    expect(out).toContain('data-slug="&quot;&gt;&lt;script&gt;');
  });

  it("keeps a dollar pattern in a value as text when the cards go into the page", () => {
    const cards = bottleCards([bottle({ hosts: ["a$&b$'c$`d.test"] })], listing);
    const page = pageHtml(cards);
    expect(page).toContain("<span>a$&amp;b$&#39;c$`d.test</span>");
    expect(page.match(/<!doctype html>/g)).toHaveLength(1);
  });

  it("says where each bottle's work will land", () => {
    expect(bottleCards([bottle()], listing)).toContain(
      '<dt>work lands</dt><dd><span data-testid="work" data-into="repository">branches <span class="mono">claude-bottle/api-work-3f9a/…</span> in <span class="mono">/src/api</span> (started from <span class="mono">main</span>)</span>',
    );
    const kept = bottleCards([bottle({ work: { into: "kept", dir: "/h/kept/x/" } })], listing);
    expect(kept).toContain('a copy of its ~/work in <span class="mono">/h/kept/x/</span>');
    const lost = bottleCards([bottle({ work: { into: "unknown" } })], listing);
    expect(lost).toContain("unknown (its state directory is gone)");
  });

  it("lists the bottles that ended, with how, every value escaped", () => {
    const ended = {
      slug: "gone-1",
      agent: HOSTILE,
      bottle: "b",
      startedAt: null,
      endedAt: new Date(1_500 - 3_600_000).toISOString(),
      how: "exited" as const,
      exitCode: 2,
      by: "start",
      work: "branches claude-bottle/gone-1/… in /src/app",
    };
    const out = bottleCards([], listing, [ended]);
    expect(out).toContain("Ended in the last day");
    expect(out).toContain(
      '<tr data-testid="ended" data-slug="gone-1" data-how="exited"><td class="mono">gone-1</td>',
    );
    expect(out).toContain('1h 0m ago</td><td class="bad">its program exited with code 2</td>');
    expect(out).not.toContain(HOSTILE);
    expect(bottleCards([], listing)).not.toContain("Ended");
  });

  it("marks a listing past its age, and says when there are no bottles", () => {
    const old = bottleCards([], { listedAt: 1_000, now: 9_000, staleAfterMs: 2_500 });
    expect(old).toContain('data-stale="true"');
    expect(old).toContain("no bottles on this machine");
  });

  it("says ages and sizes as the page does", () => {
    expect([age(null), age(42), age(300), age(11_520), age(200_000)]).toEqual([
      "?",
      "42s",
      "5m",
      "3h 12m",
      "2d",
    ]);
    expect([size(512), size(48_000), size(5 * 1024 ** 3)]).toEqual([
      "512 B",
      "46.9 KiB",
      "5.0 GiB",
    ]);
  });
});
