// A stand-in for an outside service, run inside a container on a bottle's egress network
// under the hostnames the test gives it. HTTPS on 443 (a certificate per hostname, by SNI)
// and HTTP on 80. It answers every request with a small JSON receipt and records the
// request, headers included, in /tmp/requests.jsonl for the test to read: it never echoes
// headers back, so a test can tell what the upstream saw from what the agent saw.
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createSecureContext } from "node:tls";

const certs = JSON.parse(readFileSync("/srv/certs.json", "utf8"));
const contexts = Object.fromEntries(
  Object.entries(certs).map(([host, c]) => [
    host,
    createSecureContext({ cert: c.cert, key: c.key }),
  ]),
);
const first = Object.values(certs)[0];

function handle(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const record = {
      method: req.method,
      url: req.url,
      host: req.headers.host ?? null,
      headers: req.headers,
      bodyLength: body.length,
      bodySha256: createHash("sha256").update(body).digest("hex"),
      tls: Boolean(req.socket.encrypted),
    };
    appendFileSync("/tmp/requests.jsonl", `${JSON.stringify(record)}\n`);
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
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ ok: true, method: req.method, url: req.url, bodyLength: body.length }),
    );
  });
}

createHttpsServer(
  {
    cert: first.cert,
    key: first.key,
    SNICallback: (name, cb) => cb(null, contexts[name] ?? contexts[Object.keys(contexts)[0]]),
  },
  handle,
).listen(443);
createHttpServer(handle).listen(80);
process.on("SIGTERM", () => process.exit(0));
