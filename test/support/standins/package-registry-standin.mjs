// A stand-in package registry, run inside a container on a bottle's egress network under the
// hostnames a test gives it: HTTPS on 443 (a certificate per hostname, by SNI, from
// /srv/certs.json). It serves the files /srv/routes.json maps paths to ({"/tiny": {"file":
// "tiny.json", "type": "application/json"}}), answers anything else with 404, and records
// every request's method, path and host in /tmp/requests.jsonl for the test to read.
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:https";
import { createSecureContext } from "node:tls";

const certs = JSON.parse(readFileSync("/srv/certs.json", "utf8"));
const routes = JSON.parse(readFileSync("/srv/routes.json", "utf8"));
const contexts = Object.fromEntries(
  Object.entries(certs).map(([host, c]) => [host, createSecureContext(c)]),
);
const first = Object.values(certs)[0];

const server = createServer(
  {
    cert: first.cert,
    key: first.key,
    SNICallback: (name, cb) => cb(null, contexts[name] ?? contexts[Object.keys(contexts)[0]]),
  },
  (req, res) => {
    req.resume();
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0];
      appendFileSync(
        "/tmp/requests.jsonl",
        `${JSON.stringify({ method: req.method, path, host: req.headers.host ?? null })}\n`,
      );
      const route = routes[path];
      if (route === undefined) {
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
        return;
      }
      const body = readFileSync(`/srv/${route.file}`);
      res.writeHead(200, { "content-type": route.type, "content-length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
    });
  },
);
server.listen(443);
