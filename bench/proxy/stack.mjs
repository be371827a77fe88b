// The system under test, all on 127.0.0.1: an HTTPS upstream on localhost:443, pipelock and
// egress from the built bundles, and mitmdump and Squid intercepting the same way. Each proxy
// gets its own CA (minted with src/shared/ca), its files in the bench's temp dir, and an
// ephemeral port.
// Port 443 because egress intercepts (and so injects tokens) only for CONNECTs to port 443;
// "localhost" because pipelock and egress resolve names with the system resolver.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { mintCa, mintLeafCertificate } from "../../dist/shared/ca/index.js";
import { freePort, startProcess, waitFor, waitForPort } from "./processes.mjs";

export const UPSTREAM_HOST = "localhost";
export const UPSTREAM_PORT = 443;
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The node flags of a sidecar image's ENTRYPOINT (`["node", ...flags, "/opt/.../NAME.mjs"]` in
 * images/NAME.Dockerfile), so the bench runs each proxy as a bottle does.
 */
export function imageNodeFlags(name) {
  const dockerfile = readFileSync(join(ROOT, `images/${name}.Dockerfile`), "utf8");
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (line === null) throw new Error(`images/${name}.Dockerfile: no ENTRYPOINT in exec form`);
  const argv = JSON.parse(line[1]);
  const script = argv.findIndex((arg) => arg.endsWith(`/${name}.mjs`));
  if (argv[0] !== "node" || script === -1) {
    throw new Error(`images/${name}.Dockerfile: ENTRYPOINT is not node … ${name}.mjs`);
  }
  return argv.slice(1, script);
}

/** Mints the CAs and the upstream's certificate, writes egress's routes. */
export async function prepareStack(dir) {
  const now = new Date();
  const file = (name, text) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const upstreamCa = await mintCa({ commonName: "bench upstream CA", now });
  const leaf = await mintLeafCertificate(upstreamCa, UPSTREAM_HOST, { now });
  const pipelockCa = await mintCa({ commonName: "bench pipelock CA", now });
  const egressCa = await mintCa({ commonName: "bench egress CA", now });
  const squidCa = await mintCa({ commonName: "bench squid CA", now });
  // Hex: no credential rule matches it, so only the known-secret path can see it.
  const token = randomBytes(24).toString("hex");
  const files = {
    upstreamCa: file("upstream-ca.pem", upstreamCa.certPem),
    upstreamCert: file("upstream.pem", leaf.chainPem),
    upstreamKey: file("upstream-key.pem", leaf.keyPem),
    pipelockCa: file("pipelock-ca.pem", pipelockCa.certPem),
    pipelockKey: file("pipelock-ca-key.pem", pipelockCa.keyPem),
    egressCa: file("egress-ca.pem", egressCa.certPem),
    egressKey: file("egress-ca-key.pem", egressCa.keyPem),
    squidCa: file("squid-ca.pem", squidCa.certPem),
    squidKey: file("squid-ca-key.pem", squidCa.keyPem),
    egressRoutes: file(
      "routes.yaml",
      `routes:\n  - host: ${UPSTREAM_HOST}\n    auth: { scheme: Bearer, tokenEnv: BENCH_TOKEN }\n`,
    ),
  };
  return { dir, files, token };
}

const baseEnv = () => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/",
});

export async function startUpstream(stack) {
  const { files, token, dir } = stack;
  const proc = startProcess({
    name: "upstream",
    command: process.execPath,
    args: [
      join(ROOT, "bench/proxy/upstream-server.mjs"),
      files.upstreamCert,
      files.upstreamKey,
      `127.0.0.1:${UPSTREAM_PORT}`,
      token,
    ],
    env: baseEnv(),
    logDir: dir,
  });
  await waitForPort(proc, UPSTREAM_PORT);
  return proc;
}

/**
 * @param trust how pipelock comes to trust the upstream's CA: "system" puts it in Node's own
 *   store (NODE_EXTRA_CA_CERTS), as for a public upstream, which needs no option at all;
 *   "env" gives it through PIPELOCK_UPSTREAM_CA_FILE, pipelock's option for private CAs.
 * @param nodeArgs e.g. ["--cpu-prof", "--cpu-prof-dir", DIR]
 */
export async function startPipelock(stack, { name, trust, nodeArgs = [] }) {
  const { files, token, dir } = stack;
  const port = await freePort();
  const audit = join(dir, `${name}-audit.jsonl`);
  // As a bottle's would be: the upstream allowed, the route's token known to DLP and
  // allowed to its own host only.
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    [
      `allow: ["${UPSTREAM_HOST}"]`,
      // The upstream is on loopback, which pipelock refuses through a name by default.
      "privateUpstreams: allow",
      "dlp:",
      "  action: block",
      `  secretEnv: [{ env: BENCH_TOKEN, hosts: ["${UPSTREAM_HOST}"] }]`,
      `auditLog: ${audit}`,
      // This bench measures what a request costs, not the rate limit (bench/channel does).
      "rateLimit: { perSecond: 100000, burst: 1000000 }",
      "",
    ].join("\n"),
  );
  const proc = startProcess({
    name,
    command: process.execPath,
    args: [
      ...nodeArgs,
      join(ROOT, "dist/sidecars/pipelock.mjs"),
      "run",
      "--config",
      config,
      "--listen",
      `127.0.0.1:${port}`,
      "--ca-cert",
      files.pipelockCa,
      "--ca-key",
      files.pipelockKey,
    ],
    env: {
      ...baseEnv(),
      BENCH_TOKEN: token,
      ...(trust === "system"
        ? { NODE_EXTRA_CA_CERTS: files.upstreamCa }
        : { PIPELOCK_UPSTREAM_CA_FILE: files.upstreamCa }),
    },
    logDir: dir,
  });
  await waitForPort(proc, port);
  return { proc, port, ca: files.pipelockCa, audit };
}

export async function startEgress(stack, { name = "egress", pipelockPort, nodeArgs = [] }) {
  const { files, token, dir } = stack;
  const port = await freePort();
  const proc = startProcess({
    name,
    command: process.execPath,
    args: [...nodeArgs, join(ROOT, "dist/sidecars/egress.mjs")],
    env: {
      ...baseEnv(),
      BENCH_TOKEN: token,
      EGRESS_LISTEN: `127.0.0.1:${port}`,
      EGRESS_UPSTREAM_PROXY: `http://127.0.0.1:${pipelockPort}`,
      EGRESS_UPSTREAM_CA: files.pipelockCa,
      EGRESS_ROUTES_FILE: files.egressRoutes,
      EGRESS_CA_FILE: files.egressCa,
      EGRESS_CA_KEY_FILE: files.egressKey,
    },
    logDir: dir,
  });
  await waitForPort(proc, port);
  return { proc, port, ca: files.egressCa };
}

/**
 * mitmdump with its defaults (eager upstream connection, whole bodies buffered, HTTP/1.1 to a
 * client that offers only that), quiet: no per-flow output, its best case.
 */
export async function startMitmdump(stack, mitmdump) {
  const { files, dir } = stack;
  const port = await freePort();
  const confdir = join(dir, "mitmproxy");
  const proc = startProcess({
    name: "mitmdump",
    command: mitmdump,
    args: [
      "--quiet",
      "--listen-host",
      "127.0.0.1",
      "--listen-port",
      String(port),
      "--set",
      `confdir=${confdir}`,
      "--set",
      `ssl_verify_upstream_trusted_ca=${files.upstreamCa}`,
    ],
    env: baseEnv(),
    logDir: dir,
  });
  const ca = join(confdir, "mitmproxy-ca-cert.pem");
  await waitForPort(proc, port, 60_000);
  await waitFor("CA certificate", () => existsSync(ca), proc);
  return { proc, port, ca };
}

/**
 * Squid bumping every CONNECT as the others intercept: the client's SNI peeked at step 1, then
 * bumped with a leaf minted from the bench's Squid CA (by its certgen helper, kept in memory),
 * one worker, no cache, no access log, trusting the upstream's CA by tls_outgoing_options.
 * @param squid `{ binary, certgen }` from findSquid()
 */
export async function startSquid(stack, squid) {
  const { files, dir } = stack;
  const port = await freePort();
  const home = join(dir, "squid");
  mkdirSync(home);
  const own = (name, text) => {
    const path = join(home, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const pem = (path) => `${read(path).trimEnd()}\n`;
  const bundle = own("ca-bundle.pem", pem(files.squidCa) + pem(files.squidKey));
  const upstreamCa = own("upstream-ca.pem", read(files.upstreamCa));
  const ssldb = join(home, "ssl_db");
  const certgen = [squid.certgen, "-s", ssldb, "-M", "4MB"];
  mustRun(certgen[0], ["-c", ...certgen.slice(1)]);
  const conf = own(
    "squid.conf",
    [
      `http_port 127.0.0.1:${port} ssl-bump tls-cert=${bundle} generate-host-certificates=on dynamic_cert_mem_cache_size=4MB`,
      `sslcrtd_program ${certgen.join(" ")}`,
      "acl step1 at_step SslBump1",
      "ssl_bump peek step1",
      "ssl_bump bump all",
      `tls_outgoing_options cafile=${upstreamCa}`,
      "http_access allow localhost",
      "http_access deny all",
      "cache deny all",
      "access_log none",
      "workers 1",
      `pid_filename ${join(home, "squid.pid")}`,
      `cache_log ${join(home, "cache.log")}`,
      `coredump_dir ${home}`,
      "netdb_filename none",
      "pinger_enable off",
      // localhost comes from /etc/hosts; a query that got past it stays on loopback.
      "dns_nameservers 127.0.0.1",
      // Stopping waits this long for open connections, 30 s by default.
      "shutdown_lifetime 0 seconds",
      "",
    ].join("\n"),
  );
  if (process.getuid?.() === 0) {
    // As root, Squid and its helpers drop to the proxy user: it needs its own files and a way
    // through the bench's dir (listing it stays refused; the other files stay 0600).
    mustRun("chown", ["-R", "proxy:", home]);
    chmodSync(dir, 0o711);
  }
  const proc = startProcess({
    name: "squid",
    command: squid.binary,
    args: ["-f", conf, "-N", "-d1"],
    env: baseEnv(),
    logDir: dir,
  });
  await waitForPort(proc, port, 60_000);
  return { proc, port, ca: files.squidCa };
}

const read = (path) => readFileSync(path, "utf8");

function mustRun(command, args) {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${r.status ?? r.error}):\n${r.stderr}`);
  }
}

/** TLS connections the upstream has accepted so far, not counting those that asked this. */
export async function upstreamHandshakes(stack) {
  const dispatcher = new Agent({ connect: { ca: readFileSync(stack.files.upstreamCa, "utf8") } });
  try {
    const url = `https://${UPSTREAM_HOST}:${UPSTREAM_PORT}/__bench/handshakes`;
    const res = await request(url, { dispatcher });
    return Number(await res.body.text());
  } finally {
    await dispatcher.destroy();
  }
}
