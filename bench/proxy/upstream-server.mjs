// The bench's HTTPS upstream, run as its own process so it never shares an event loop with the
// load generator. GET answers a few bytes; POST reads the whole body and answers its length.
// It checks each request and answers 200 only when it is right, so the load generator needs to
// look at status codes only: a POST body must arrive whole (400 otherwise), and a request
// with x-bench-expect-token: yes must carry the route's token while one without it must not
// (401), which proves egress injected the token and nothing else did. GET /__bench/handshakes
// answers how many TLS connections it has accepted, to see whether a proxy reuses its
// upstream connections. Logs nothing per request.
// Usage: node upstream-server.mjs CERT KEY HOST:PORT TOKEN
import { readFileSync } from "node:fs";
import * as https from "node:https";

const [certPath, keyPath, listen, token] = process.argv.slice(2);
const [host, port] = listen.split(":");
const expected = `Bearer ${token}`;

const server = https.createServer(
  {
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    keepAliveTimeout: 30_000,
  },
  (req, res) => {
    if (req.url === "/__bench/handshakes") {
      // The asking connection is not one of the counted.
      if (!counted.has(req.socket)) {
        counted.add(req.socket);
        handshakes--;
      }
      res.writeHead(200, { "content-type": "text/plain" }).end(`${handshakes}\n`);
      return;
    }
    const tokenSeen = req.headers.authorization === expected;
    const tokenDue = req.headers["x-bench-expect-token"] === "yes";
    let bytes = 0;
    req.on("data", (chunk) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      let status = 200;
      let body = req.method === "POST" ? `${bytes}\n` : "ok\n";
      if (tokenSeen !== tokenDue) {
        status = 401;
        body = tokenDue ? "the route token was not injected\n" : "a token arrived unasked\n";
      } else if (req.method === "POST" && bytes !== Number(req.headers["content-length"])) {
        status = 400;
        body = `read ${bytes} of ${req.headers["content-length"]} bytes\n`;
      }
      res.writeHead(status, {
        "content-type": "text/plain",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    });
  },
);
let handshakes = 0;
const counted = new WeakSet();
server.on("secureConnection", () => {
  handshakes++;
});
server.on("clientError", (_error, socket) => socket.destroy());
server.listen(Number(port), host, () => process.stdout.write("listening\n"));
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
