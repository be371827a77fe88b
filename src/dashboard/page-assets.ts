// The dashboard's page with its stylesheet, and its script, shipped inside the package and
// served by the dashboard itself: no CDN, nothing fetched from anywhere else (the Content Security
// Policy forbids it anyway). The script builds every node with textContent, never HTML
// from data: hosts, paths and reasons are the agent's to choose. The one exception is the
// bottles' cards, which the server draws (bottle-cards.ts, every value escaped) and the
// script swaps in whole.

import { createHash } from "node:crypto";

const BOTTLES_SLOT = "<!--bottles-->";

const PAGE_CSS = `
:root { font-family: system-ui, sans-serif; font-size: 14px; color: #1d2330; background: #f5f6f8; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #1d2330; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; }
nav button { background: none; border: 0; color: #c9cfdb; font-size: .95rem; padding: .4rem .7rem; cursor: pointer; border-radius: 4px; }
nav button.active { background: #3a4358; color: #fff; }
#status { margin-left: auto; font-size: .85rem; color: #9fd39f; }
#status.bad { color: #f29b9b; }
main { padding: 1rem 1.2rem; }
.view { display: none; }
.view.active { display: block; }
.card { background: #fff; border: 1px solid #d9dde5; border-radius: 6px; padding: .8rem 1rem; margin-bottom: .8rem; }
.card h3 { margin: 0 0 .4rem; font-size: 1rem; }
.meta { color: #5b6478; font-size: .85rem; }
.chips span { display: inline-block; background: #eef1f6; border-radius: 3px; padding: 0 .4rem; margin: .1rem .2rem .1rem 0; font-family: ui-monospace, monospace; font-size: .8rem; }
.healthy, .ok, .allow { color: #1d7a36; }
.unhealthy, .bad, .refuse, .dlp, .error { color: #b3261e; }
.starting { color: #9a6700; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: .4rem 0 0; }
dt { color: #5b6478; }
dd { margin: 0; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: .85rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
td.mono, .mono { font-family: ui-monospace, monospace; word-break: break-all; }
.filters { display: flex; gap: 1rem; align-items: center; margin-bottom: .6rem; }
.proposal textarea { width: 100%; min-height: 2.5rem; box-sizing: border-box; }
.proposal button { margin: .4rem .4rem 0 0; padding: .3rem .9rem; }
.empty { color: #5b6478; }
.sidecar { margin-right: 1.2rem; white-space: nowrap; }
.reason { white-space: pre-wrap; }
.card h3 { display: flex; align-items: center; gap: .8rem; flex-wrap: wrap; }
button.stop { margin-left: auto; font-size: .8rem; padding: .15rem .6rem; }
button.stop.confirm { background: #b3261e; color: #fff; border: 1px solid #b3261e; }
#notice:empty { display: none; }
#notice { background: #fff; border: 1px solid #d9dde5; border-left: 4px solid #9a6700; border-radius: 4px; padding: .5rem .8rem; margin-bottom: .8rem; white-space: pre-wrap; }
#notice.ok { border-left-color: #1d7a36; }
#notice.bad { border-left-color: #b3261e; }
.countdown { margin-top: .3rem; color: #9a6700; font-weight: 600; }
.countdown.late { color: #b3261e; }
td.repeat { font-weight: 600; color: #b3261e; white-space: nowrap; }
td, dd { overflow-wrap: anywhere; }
@media (max-width: 900px) {
  header { flex-wrap: wrap; gap: .4rem 1rem; padding: .5rem .8rem; }
  main { padding: .6rem .8rem; }
  .wide { display: none; }
  .filters { flex-wrap: wrap; gap: .4rem 1rem; }
  th, td { padding: .2rem .3rem; }
}
`;

/**
 * The stylesheet is in the page itself, allowed by its hash in the Content Security Policy: a
 * separate stylesheet would hold the first paint until it arrived, the bottles' cards with it.
 */
export const PAGE_STYLE_HASH = `sha256-${createHash("sha256").update(PAGE_CSS).digest("base64")}`;

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>claude-bottle dashboard</title>
<style>${PAGE_CSS}</style>
<script src="/app.js" async></script>
</head>
<body>
<header>
  <h1>claude-bottle</h1>
  <nav>
    <button data-view="bottles" class="active">Bottles</button>
    <button data-view="decisions">Decisions</button>
    <button data-view="approvals">Approvals <span id="pending-count"></span></button>
    <button data-view="audit">Audit</button>
  </nav>
  <span id="status">connecting…</span>
</header>
<main>
  <div id="notice" data-testid="notice" role="status"></div>
  <section id="bottles" class="view active">${BOTTLES_SLOT}</section>
  <section id="decisions" class="view">
    <div class="filters">
      <label>bottle <select id="filter-slug"><option value="">all</option></select></label>
      <label>kind <select id="filter-kind">
        <option value="">all</option><option value="allow">allowed</option>
        <option value="refuse">refused</option><option value="dlp">DLP</option>
        <option value="error">error</option></select></label>
      <span id="decision-count">0 decisions</span>
    </div>
    <table><thead><tr><th>first seen</th><th>bottle</th><th>source</th><th>kind</th><th class="wide">verdict</th>
      <th>request</th><th>rule</th><th>place</th><th class="wide">status</th><th>repeated</th></tr></thead>
      <tbody id="decision-rows"></tbody></table>
  </section>
  <section id="approvals" class="view">
    <h2>Pending</h2><div id="pending"><p class="empty">none</p></div>
    <h2>History</h2><table><thead><tr><th>id</th><th>bottle</th><th>asked for</th><th>reason</th>
      <th>decision</th><th>by</th><th>note</th></tr></thead><tbody id="history"></tbody></table>
  </section>
  <section id="audit" class="view"><p class="empty">loading…</p></section>
</main>
</body>
</html>
`;

/** The page, with the bottles' cards when the server could draw them (a session's page). */
export function pageHtml(bottleCards: string | null): string {
  // A function, not a string: a "$&" or "$'" in the cards (a path can hold one) is text.
  return PAGE_HTML.replace(BOTTLES_SLOT, () => bottleCards ?? '<p class="empty">loading…</p>');
}

export const PAGE_JS = `"use strict";
(() => {
  let csrf = null;
  const MAX_ROWS = 500;
  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "class") node.className = v; else node.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function setStatus(text, bad) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("bad", Boolean(bad));
  }
  async function api(path, init) {
    const headers = Object.assign({}, (init && init.headers) || {});
    if (init && init.method && init.method !== "GET") {
      headers["X-CSRF-Token"] = csrf || "";
      headers["Content-Type"] = "application/json";
    }
    const res = await fetch(path, Object.assign({}, init, { headers, credentials: "same-origin" }));
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.error || res.statusText), { status: res.status, hint: body.hint, output: body.output });
    return body;
  }
  // The first page from the printed URL spends its token for the session cookie, and the
  // answer brings the bottles' cards; a page opened again has the cookie, and the server drew
  // the cards into it.
  async function exchangeToken() {
    const m = /(?:^|[#&])token=([0-9a-f]+)/.exec(location.hash);
    // The token is spent on first use; drop it from the address bar and the history.
    if (location.hash) history.replaceState(null, "", location.pathname);
    if (!m) return;
    const res = await fetch("/api/session", { method: "POST", headers: { "X-Dashboard-Token": m[1] }, credentials: "same-origin" });
    if (!res.ok) return;
    const session = await res.json();
    csrf = session.csrf;
    if (session.cards) drawBottles(session.cards);
  }
  async function fetchCsrf() {
    if (csrf) return true;
    try { csrf = (await api("/api/csrf")).csrf; return true; } catch { return false; }
  }
  // The cards come drawn by the server, every value escaped there; a listing it marks stale
  // (the engine was asked a while ago) is asked for again at once.
  function drawBottles(cards) {
    $("bottles").innerHTML = cards;
    for (const b of document.querySelectorAll("#bottles button[data-testid=stop]")) {
      if (stopping.has(b.dataset.slug)) { b.disabled = true; b.textContent = "stopping…"; }
    }
  }
  // Stop takes two presses (the first asks to confirm); it runs claude-bottle stop, which keeps
  // the work first, and can take a minute or two: the button says so meanwhile.
  const stopping = new Set();
  function notice(text, kind) {
    const n = $("notice");
    n.textContent = text;
    n.className = kind || "";
  }
  async function stopClicked(button) {
    const slug = button.dataset.slug;
    if (stopping.has(slug)) return;
    if (!button.classList.contains("confirm")) {
      button.classList.add("confirm");
      button.textContent = "Press again to stop " + slug;
      setTimeout(() => { if (!stopping.has(slug)) { button.classList.remove("confirm"); button.textContent = "Stop, keeping its work"; } }, 5000);
      return;
    }
    stopping.add(slug);
    button.disabled = true;
    button.textContent = "stopping…";
    notice("stopping " + slug + ": keeping its work, then removing it…");
    try {
      const r = await api("/api/bottles/" + encodeURIComponent(slug) + "/stop", { method: "POST", body: "{}" });
      notice("stopped " + slug + (r.output ? ", in its words:\\n" + r.output : ""), "ok");
    } catch (e) {
      notice("could not stop " + slug + ": " + e.message + (e.output ? "\\n" + e.output : ""), "bad");
    } finally {
      stopping.delete(slug);
      refreshBottles();
    }
  }
  // Each listing asked for is numbered, and drawn only if none was asked for since: a slow
  // answer (a poll, the refresh after a stop) must not draw over a newer one.
  let bottlesAsked = 0;
  async function refreshBottles() {
    const asked = ++bottlesAsked;
    try {
      const res = await fetch("/api/bottles/cards", { credentials: "same-origin" });
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.statusText);
      const cards = await res.text();
      if (asked === bottlesAsked) drawBottles(cards);
    } catch (e) { if (asked === bottlesAsked) setStatus(e.message, true); }
  }

  const seenSlugs = new Set();
  let total = 0;
  let lastSeq = 0;
  let gaps = 0;
  function matches(g) {
    const slug = $("filter-slug").value, kind = $("filter-kind").value;
    return (!slug || g.e.slug === slug) && (!kind || g.e.kind === kind);
  }
  // Rows, one per group: an allowed request is its own group; refusals (and DLP hits and
  // errors) repeated by one bottle to one host, by the same sidecar and rule, are one group
  // with a count and the time last seen. Kept in the order last seen (a Map re-inserted on
  // each sighting), at most MAX_GROUPS of them.
  const MAX_GROUPS = 5000;
  const groups = new Map();
  function groupKey(e) {
    if (e.kind === "allow") return "#" + e.seq;
    return [e.slug, e.source, e.kind, e.host || "", e.rule || ""].join("\\u0000");
  }
  function clock(at) { return (at || "").replace("T", " ").replace(/\\.\\d+Z$/, ""); }
  function decisionRow(g) {
    const e = g.e;
    const target = (e.method ? e.method + " " : "") + (e.host || "?") + (e.port ? ":" + e.port : "") + (e.path || "");
    const seen = g.count === 1 ? "" : g.count + "\\u00d7, last " + clock(g.lastAt).slice(11);
    const row = el("tr", { "data-testid": "decision", "data-kind": e.kind, "data-slug": e.slug, "data-seq": g.lastSeq, "data-count": g.count },
      el("td", {}, clock(g.firstAt)),
      el("td", { class: "mono" }, e.slug), el("td", {}, e.source),
      el("td", { class: e.kind }, e.kind), el("td", { class: "wide" }, e.verdict),
      el("td", { class: "mono" }, target), el("td", { class: "mono" }, e.rule || ""),
      el("td", {}, e.place || ""), el("td", { class: "wide" }, e.status === null ? "" : e.status),
      el("td", { "data-testid": "seen", class: g.count === 1 ? "" : "repeat" }, seen));
    g.row = row;
    return row;
  }
  function addDecisions(events) {
    const touched = new Set();
    for (const e of events) {
      if (lastSeq && e.seq !== lastSeq + 1 && e.seq > lastSeq) gaps += e.seq - lastSeq - 1;
      if (e.seq <= lastSeq) continue;
      lastSeq = e.seq;
      total++;
      const key = groupKey(e);
      let g = groups.get(key);
      if (g === undefined) g = { e, count: 0, firstAt: e.at, lastAt: e.at, lastSeq: e.seq, row: null };
      else groups.delete(key);
      g.count++;
      g.lastAt = e.at;
      g.lastSeq = e.seq;
      // The latest sighting's details (path, status) stand for the group.
      g.e = e;
      groups.set(key, g);
      touched.add(g);
      if (!seenSlugs.has(e.slug)) { seenSlugs.add(e.slug); $("filter-slug").append(el("option", { value: e.slug }, e.slug)); }
    }
    if (groups.size > MAX_GROUPS) {
      for (const key of groups.keys()) { if (groups.size <= MAX_GROUPS) break; groups.delete(key); }
    }
    const frag = document.createDocumentFragment();
    for (const g of touched) {
      if (g.row !== null) g.row.remove();
      g.row = null;
      if (matches(g)) frag.prepend(decisionRow(g));
    }
    const body = $("decision-rows");
    body.prepend(frag);
    while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
    $("decision-count").textContent = total + " decisions in " + groups.size + " rows" + (gaps ? ", " + gaps + " missed" : "");
    $("decision-count").dataset.total = String(total);
    $("decision-count").dataset.lastSeq = String(lastSeq);
  }
  function refilter() {
    const body = $("decision-rows");
    for (const g of groups.values()) g.row = null;
    body.replaceChildren(...[...groups.values()].filter(matches).slice(-MAX_ROWS).reverse().map(decisionRow));
  }
  function connectStream() {
    const source = new EventSource("/api/events");
    source.addEventListener("open", () => setStatus("live"));
    source.addEventListener("error", () => setStatus("reconnecting…", true));
    source.addEventListener("decisions", (m) => addDecisions(JSON.parse(m.data)));
  }

  function renderProposals(data) {
    const pending = data.proposals.filter((p) => p.status === "pending" || p.status === "deciding");
    $("pending-count").textContent = pending.length ? "(" + pending.length + ")" : "";
    const root = $("pending");
    // Redraw only when the pending set changes: a redraw under the user's cursor loses focus.
    const key = pending.map((p) => p.id + ":" + p.status).join(",");
    if (root.dataset.key !== key) {
    root.dataset.key = key;
    const drafts = new Map([...root.querySelectorAll("textarea")].map((t) => [t.dataset.id, t.value]));
    root.replaceChildren();
    if (pending.length === 0) root.append(el("p", { class: "empty" }, "none"));
    for (const p of pending) {
      const note = el("textarea", { placeholder: "reason (told to the agent; required to deny)", "data-id": p.id });
      note.value = drafts.get(p.id) || "";
      const out = el("div", { class: "meta" });
      const decide = (decision) => async () => {
        out.textContent = "…";
        try {
          const r = await api("/api/proposals/" + encodeURIComponent(p.slug) + "/" + encodeURIComponent(p.id) + "/decision",
            { method: "POST", body: JSON.stringify({ decision, reason: note.value }) });
          out.textContent = r.decision + ": " + r.changes.join("; ");
          refreshProposals();
        } catch (e) { out.textContent = "refused: " + e.message + (e.hint ? " (" + e.hint + ")" : ""); }
      };
      const approve = el("button", { "data-testid": "approve" }, "Approve");
      const deny = el("button", { "data-testid": "deny" }, "Deny");
      approve.addEventListener("click", decide("approved"));
      deny.addEventListener("click", decide("denied"));
      root.append(el("div", { class: "card proposal", "data-testid": "proposal", "data-id": p.id, "data-slug": p.slug },
        el("h3", {}, p.asksFor),
        el("div", { class: "meta" }, "bottle " + p.slug + " · " + p.id + " · " + p.status + " · filed " + p.createdAt),
        p.timesOutAt ? el("div", { class: "countdown", "data-testid": "countdown", "data-times-out-at": p.timesOutAt }) : null,
        el("dl", {}, el("dt", {}, "agent's reason"), el("dd", { class: "reason" }, p.reason),
          el("dt", {}, "approving would"), el("dd", {}, p.wouldChange)),
        note, approve, deny, out));
    }
    tickCountdowns();
    }
    const decided = data.proposals.filter((p) => p.answer);
    $("history").replaceChildren(...decided.map((p) => el("tr", { "data-testid": "history", "data-id": p.id },
      el("td", { class: "mono" }, p.id), el("td", { class: "mono" }, p.slug), el("td", { class: "mono" }, p.asksFor),
      el("td", { class: "reason" }, p.reason), el("td", { class: p.answer.decision === "approved" ? "ok" : "bad" }, p.answer.decision),
      el("td", {}, p.answer.by), el("td", { class: "reason" }, p.answer.reason || ""))));
  }

  // Each waiting proposal says how long the agent's tool call still waits for the answer.
  function span(seconds) {
    if (seconds < 60) return seconds + "s";
    return Math.floor(seconds / 60) + "m " + String(seconds % 60).padStart(2, "0") + "s";
  }
  function tickCountdowns() {
    for (const c of document.querySelectorAll("[data-times-out-at]")) {
      const left = Math.round((Date.parse(c.dataset.timesOutAt) - Date.now()) / 1000);
      c.dataset.secondsLeft = String(Math.max(0, left));
      c.classList.toggle("late", left <= 60);
      c.textContent = left > 0
        ? "the agent's call times out in " + span(left)
        : "the agent's call has timed out: it is told when it asks again";
    }
  }

  function renderAudit(logs) {
    const root = $("audit");
    root.replaceChildren();
    if (logs.length === 0) { root.append(el("p", { class: "empty" }, "no audit logs yet")); return; }
    for (const log of logs) {
      root.append(el("div", { class: "card", "data-testid": "audit", "data-slug": log.slug },
        el("h3", {}, log.slug + " ", el("span", { class: log.verification.ok ? "ok" : "bad", "data-testid": "verification" },
          (log.verification.ok ? "chain verified" : "chain broken: " + log.verification.message) + " (" + log.verification.entries + " entries)")),
        el("table", {}, el("tbody", {}, ...log.entries.slice().reverse().map((e) => el("tr", { "data-testid": "audit-entry", "data-event": e.event },
          el("td", {}, "#" + e.seq), el("td", { class: "when" }, clock(e.at)),
          el("td", { class: "reason", "data-testid": "audit-line" }, e.line),
          el("td", { class: "mono wide", title: "this entry's hash in the chain" }, e.hash.slice(0, 12))))))));
    }
  }

  const refreshProposals = () => api("/api/proposals").then(renderProposals).catch((e) => setStatus(e.message, true));
  const refreshAudit = () => api("/api/audit").then(renderAudit).catch((e) => setStatus(e.message, true));

  function show(view) {
    for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.view === view);
    for (const s of document.querySelectorAll(".view")) s.classList.toggle("active", s.id === view);
    if (view === "audit") refreshAudit();
  }

  async function main() {
    for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
    $("filter-slug").addEventListener("change", refilter);
    $("bottles").addEventListener("click", (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest("button[data-testid=stop]") : null;
      if (b !== null) stopClicked(b);
    });
    $("filter-kind").addEventListener("change", refilter);
    await exchangeToken();
    if (!(await fetchCsrf())) {
      setStatus("not signed in", true);
      $("bottles").replaceChildren(el("p", { class: "bad", "data-testid": "signed-out" },
        "Not signed in: open the URL that claude-bottle dashboard printed (its token works once)."));
      return;
    }
    setStatus("signed in");
    const drawn = $("bottle-cards");
    if (drawn === null || drawn.dataset.stale) await refreshBottles();
    // The stream's first message can hold hundreds of rows: it waits until the bottles are drawn.
    connectStream();
    await refreshProposals();
    setInterval(refreshBottles, 3000);
    setInterval(refreshProposals, 1500);
    setInterval(tickCountdowns, 1000);
    setInterval(() => { if ($("audit").classList.contains("active")) refreshAudit(); }, 5000);
  }
  // Loaded async, so that neither DOMContentLoaded nor the first paint (with the bottles the
  // server drew) waits for it: it may run before the page is parsed, and waits if so.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main, { once: true });
  else main();
})();
`;
