// The bottles view as HTML, drawn by the server: into the page itself when it is asked for
// with a session, so the bottles are on screen with the page's first paint, and as a
// fragment the page swaps in on each poll. Every value goes through hono's html helper,
// which escapes it: hosts, paths and names can be the agent's or the manifest's to choose.
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { BottleView } from "./dashboard-views.js";
import { type EndedBottle, outcomeWords } from "./ended-bottles.js";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** Seconds as the page says them: 42s, 5m, 3h 12m, 2d. */
export function age(seconds: number | null): string {
  if (seconds === null) return "?";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) {
    return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  }
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Bytes in binary units: 512 B, 46.9 KiB, 1.2 MiB. */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let n = bytes / 1024;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(1)} ${units[u]}`;
}

const none = html`<span class="empty">none</span>`;

function chips(items: readonly string[]): Html {
  if (items.length === 0) return none;
  return html`<span class="chips">${items.map((i) => html`<span>${i}</span>`)}</span>`;
}

function routeRows(routes: BottleView["routes"]): Html {
  if (routes.length === 0) return none;
  return html`<table><tbody>${routes.map(
    (r) =>
      html`<tr><td class="mono">${r.host}</td><td class="mono">${r.paths.join(", ")}</td><td>${
        r.methods === "all" ? "all methods" : r.methods.join(",")
      }</td><td class="mono">token ${r.tokenEnv ?? "?"}</td><td data-testid="traffic" data-requests="${r.requests}" data-request-bytes="${r.requestBytes}" data-response-bytes="${r.responseBytes}">${r.requests} ${
        r.requests === 1 ? "request" : "requests"
      } · ${size(r.requestBytes)} sent · ${size(r.responseBytes)} received</td></tr>`,
  )}</tbody></table>`;
}

function rateCell(rates: BottleView["rateRefusals"]): Html {
  if (rates.length === 0) return html`<span class="empty">nothing refused</span>`;
  return html`<table><tbody>${rates.map(
    (r) =>
      html`<tr data-testid="rate-limit" data-host="${r.host}" data-refusals="${r.refusals}" data-bursts="${r.bursts}"><td class="mono">${r.host}</td><td>${r.refusals} ${
        r.refusals === 1 ? "request" : "requests"
      } refused in ${r.bursts} ${r.bursts === 1 ? "burst" : "bursts"}</td></tr>`,
  )}</tbody></table>`;
}

function workCell(work: BottleView["work"]): Html {
  if (work.into === "repository") {
    return html`<span data-testid="work" data-into="repository">branches <span class="mono">${work.branchPrefix}…</span> in <span class="mono">${work.repoDir}</span>${
      work.from === null ? "" : html` (started from <span class="mono">${work.from}</span>)`
    }</span>`;
  }
  if (work.into === "kept") {
    return html`<span data-testid="work" data-into="kept">a copy of its ~/work in <span class="mono">${work.dir}</span></span>`;
  }
  return html`<span data-testid="work" data-into="unknown" class="empty">unknown (its state directory is gone)</span>`;
}

function card(b: BottleView): Html {
  const meta = [
    `agent ${b.agent ?? "?"}`,
    `provider ${b.provider ?? "?"}`,
    `bottle ${b.bottle ?? "?"}`,
    b.state,
    `up ${age(b.uptimeSeconds)}`,
    `CLI ${b.attached ? "attached" : "gone"}`,
  ].join(" · ");
  const sidecars = b.sidecars.map(
    (s) =>
      html`<span class="${s.health ?? (s.state === "running" ? "ok" : "bad")} sidecar">${s.service} ${
        s.health ?? s.state
      }</span>`,
  );
  return html`<div class="card" data-testid="bottle" data-slug="${b.slug}"><h3>${b.slug}<button class="stop" data-testid="stop" data-slug="${b.slug}" title="claude-bottle stop: keeps the agent's work, then removes the bottle">Stop, keeping its work</button></h3><div class="meta">${meta}</div><dl><dt>work lands</dt><dd>${workCell(b.work)}</dd><dt>sidecars</dt><dd>${sidecars}</dd><dt>hosts</dt><dd>${chips(
    b.hosts,
  )}</dd><dt>DLP</dt><dd>${b.dlp ?? "?"}</dd><dt>routes</dt><dd>${routeRows(
    b.routes,
  )}</dd><dt>git remotes</dt><dd>${chips(
    b.remotes.map((r) => `${r.name} ${r.url}`),
  )}</dd><dt>exceptions</dt><dd>${chips(b.gitleaksExceptions)}</dd><dt>rate limit</dt><dd>${rateCell(
    b.rateRefusals,
  )}</dd></dl></div>`;
}

/** The bottles that ended in the last day, newest first, with how each ended. */
function endedRows(ended: readonly EndedBottle[], now: number): Html {
  if (ended.length === 0) return html``;
  return html`<h2>Ended in the last day</h2><table class="ended"><thead><tr><th>bottle</th><th>agent</th><th>ended</th><th>how</th><th>work</th></tr></thead><tbody>${ended.map(
    (e) =>
      html`<tr data-testid="ended" data-slug="${e.slug}" data-how="${e.how}"><td class="mono">${e.slug}</td><td>${e.agent ?? "?"}</td><td>${age(
        Math.max(0, Math.round((now - Date.parse(e.endedAt)) / 1000)),
      )} ago</td><td class="${e.how === "exited" && e.exitCode !== 0 ? "bad" : ""}">${outcomeWords(e)}</td><td class="mono">${
        e.work ?? ""
      }</td></tr>`,
  )}</tbody></table>`;
}

/**
 * Every bottle's card, in a wrapper that says when the engine was asked; a listing older than
 * `staleAfterMs` is marked, and the page asks again as soon as it has drawn it.
 */
export function bottleCards(
  bottles: readonly BottleView[],
  listing: { listedAt: number; now: number; staleAfterMs: number },
  ended: readonly EndedBottle[] = [],
): string {
  const stale = listing.now - listing.listedAt > listing.staleAfterMs;
  const body =
    bottles.length === 0
      ? html`<p class="empty">no bottles on this machine</p>`
      : bottles.map(card);
  const out = html`<div id="bottle-cards" data-listed-at="${listing.listedAt}"${
    stale ? html` data-stale="true"` : ""
  }>${body}${endedRows(ended, listing.now)}</div>`;
  if (out instanceof Promise) throw new Error("the bottles' cards must render synchronously");
  return out.toString();
}
