// A stand-in for an outside service, run inside a container on a bottle's egress network
// under the hostnames the demo or a test gives it. HTTPS on 443 and 8443 (a certificate per hostname,
// by SNI) and HTTP on 80. It answers every request with a small JSON receipt and records the
// request, headers included, in /tmp/requests.jsonl for the test to read: it never echoes
// headers back, so a test can tell what the upstream saw from what the agent saw. Each request
// is noted in /tmp/arrivals.jsonl as its head arrives, and in /tmp/requests.jsonl when its body
// ends or breaks off (complete false), with its headers as sent (raw name/value pairs, a
// repeated header twice) and its body in full up to a bound: a body forwarded in part and then
// aborted is still seen. The bytes of each answer's body, once sent, go to /tmp/responses.jsonl. /sse and
// /slow?ms=N answer slowly, for tests that need a request still open; a WebSocket upgrade on
// any path gets an echo server (on a path ending /ws/authorization it first sends back the
// Authorization it received, whole and cut across two fragments: what egress must scrub).
// The build bundles it with websocket-server.mjs into one file (dist/demo/), copied alone
// into the container.
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createSecureContext } from "node:tls";
import { acceptWebSocket, readWsMessages, wsFrame } from "./websocket-server.mjs";

const certs = JSON.parse(readFileSync("/srv/certs.json", "utf8"));
const contexts = Object.fromEntries(
  Object.entries(certs).map(([host, c]) => [
    host,
    createSecureContext({ cert: c.cert, key: c.key }),
  ]),
);
const first = Object.values(certs)[0];
// Bodies are recorded whole up to this many bytes (bodyLength and bodySha256 cover them all).
const BODY_BOUND = 16 << 20;
let arrived = 0;
const note = (file, entry) => appendFileSync(file, `${JSON.stringify(entry)}\n`);
/** What a request's head says, as it arrived. */
const head = (id, req) => ({
  id,
  method: req.method,
  url: req.url,
  host: req.headers.host ?? null,
  headers: req.headers,
  rawHeaders: req.rawHeaders,
  tls: Boolean(req.socket.encrypted),
});

/** Counts the body bytes `res` sends and records them once the answer is complete. */
function countSent(req, res) {
  let sent = 0;
  const add = (chunk, encoding) => {
    if (chunk === undefined || chunk === null || typeof chunk === "function") return;
    sent += Buffer.byteLength(chunk, typeof encoding === "string" ? encoding : "utf8");
  };
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  res.write = (chunk, encoding, cb) => {
    add(chunk, encoding);
    return write(chunk, encoding, cb);
  };
  res.end = (chunk, encoding, cb) => {
    add(chunk, encoding);
    return end(chunk, encoding, cb);
  };
  res.on("finish", () => {
    appendFileSync(
      "/tmp/responses.jsonl",
      `${JSON.stringify({ method: req.method, url: req.url, host: req.headers.host ?? null, bodyLength: sent })}\n`,
    );
  });
}

function handle(req, res) {
  countSent(req, res);
  const id = ++arrived;
  note("/tmp/arrivals.jsonl", head(id, req));
  const chunks = [];
  const hash = createHash("sha256");
  let length = 0;
  req.on("data", (c) => {
    if (length < BODY_BOUND) chunks.push(c.subarray(0, BODY_BOUND - length));
    length += c.length;
    hash.update(c);
  });
  const record = (complete) => {
    const body = Buffer.concat(chunks);
    note("/tmp/requests.jsonl", {
      ...head(id, req),
      complete,
      bodyLength: length,
      bodySha256: hash.copy().digest("hex"),
      body: body.toString("base64"),
      trailers: req.trailers,
      rawTrailers: req.rawTrailers,
    });
    return body;
  };
  req.on("close", () => {
    if (!req.complete) record(false);
  });
  req.on("end", () => {
    const body = record(true);
    if (req.url === "/sse") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`data: event ${++n}\n\n`);
        if (n === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 200);
      return;
    }
    if (req.url.startsWith("/slow")) {
      // A long answer: the head and a first line now, the rest after ?ms= milliseconds.
      const ms = Number(new URL(req.url, "http://x").searchParams.get("ms") ?? 2000);
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("slow: started\n");
      setTimeout(() => res.end("slow: finished\n"), ms);
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ ok: true, method: req.method, url: req.url, bodyLength: body.length }),
    );
  });
}

/**
 * A WebSocket echo server on any path: each complete message is recorded (as method
 * "WS-MESSAGE", its length and hash, never its content) and sent back as it came.
 */
function upgrade(req, socket, upgradeHead) {
  socket.on("error", () => socket.destroy());
  const id = ++arrived;
  note("/tmp/arrivals.jsonl", head(id, req));
  const record = (method, body) =>
    note("/tmp/requests.jsonl", {
      id,
      method,
      url: req.url,
      host: req.headers.host ?? null,
      headers: method === "GET" ? req.headers : {},
      rawHeaders: method === "GET" ? req.rawHeaders : [],
      complete: true,
      bodyLength: body.length,
      bodySha256: createHash("sha256").update(body).digest("hex"),
      tls: Boolean(req.socket.encrypted),
    });
  record("GET", Buffer.alloc(0));
  acceptWebSocket(req, socket);
  if (req.url?.endsWith("/ws/authorization")) {
    const seen = Buffer.from(`authorization: ${req.headers.authorization ?? ""}`);
    const cut = Math.floor(seen.length / 2);
    socket.write(wsFrame(1, seen));
    // Text, not final; then its continuation: the value is split between the two.
    socket.write(Buffer.concat([Buffer.from([0x01, cut]), seen.subarray(0, cut)]));
    socket.write(wsFrame(0, seen.subarray(cut)));
  }
  readWsMessages(socket, upgradeHead, (opcode, message) => {
    record("WS-MESSAGE", message);
    socket.write(wsFrame(opcode, message));
  });
}

const tlsOptions = {
  cert: first.cert,
  key: first.key,
  SNICallback: (name, cb) => cb(null, contexts[name] ?? contexts[Object.keys(contexts)[0]]),
};
const servers = [
  createHttpsServer(tlsOptions, handle).listen(443),
  // A port that is open but not a web port: what a bottle may not reach is really there.
  createHttpsServer(tlsOptions, handle).listen(8443),
  createHttpServer(handle).listen(80),
];
for (const server of servers) server.on("upgrade", upgrade);
process.on("SIGTERM", () => process.exit(0));
