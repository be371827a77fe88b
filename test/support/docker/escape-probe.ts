// Network probes run inside a bottle's agent container, as the agent user, with the tools
// the agent image has (python3). One exec runs a batch of probes concurrently and answers
// with one outcome each, so a test can try many addresses in about the time of the slowest.
// Probes only ever aim at what the test names; they never pick a destination themselves.
import { spawn } from "node:child_process";

/**
 * What happened to one probe:
 * - connected: a TCP handshake completed (the destination was reached);
 * - refused: a host answered with a reset or an ICMP "port unreachable" (it was reached);
 * - reply: a UDP, ICMP or DNS answer came back;
 * - no-reply: a datagram was handed to the kernel and nothing came back in time;
 * - unreachable: the kernel had no route, or an ICMP "host/net unreachable" came back;
 * - timeout: a TCP connect got no answer at all;
 * - unresolved: the name did not resolve; resolved: it did (see `detail`);
 * - denied: the kernel refused to open the socket (e.g. no ping permission);
 * - exchanged: a proxy exchange ran (see `status` and `response`).
 */
export type ProbeOutcome =
  | "connected"
  | "refused"
  | "reply"
  | "no-reply"
  | "unreachable"
  | "timeout"
  | "unresolved"
  | "resolved"
  | "denied"
  | "exchanged"
  | `error:${string}`;

export type ProbeOp =
  | { kind: "tcp"; host: string; port: number; timeoutMs?: number }
  | { kind: "udp"; host: string; port: number; payload: string; timeoutMs?: number }
  | { kind: "icmp"; host: string; timeoutMs?: number }
  | {
      kind: "dns";
      server: string;
      port?: number;
      name: string;
      transport: "udp" | "tcp";
      timeoutMs?: number;
    }
  | { kind: "resolve"; name: string }
  | ExchangeOp;

/**
 * Raw bytes to a proxy: optionally a CONNECT first, optionally TLS inside the tunnel (the
 * chain is verified against the agent's CA bundle; the name is not, so SNI can differ from
 * the CONNECT host on purpose), then each chunk as given, then everything read until the
 * peer closes or goes quiet.
 */
export interface ExchangeOp {
  kind: "exchange";
  /** "host:port" of the proxy the agent talks to. */
  proxy: string;
  /** CONNECT authority, or absent to speak to the proxy directly. */
  connect?: string;
  tls?: boolean;
  /** TLS server name; null sends none. Defaults to the CONNECT host. */
  sni?: string | null;
  /** Chunks sent one after another, `delayMs` apart. */
  send: Buffer[];
  delayMs?: number;
  /** How long to wait for more bytes before the answer is taken as complete. */
  quietMs?: number;
}

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** CONNECT status, then the first HTTP status inside (exchange only). */
  connectStatus?: number;
  status?: number;
  /** The bytes read back, latin1, at most 64 KiB (exchange only). */
  response?: string;
  detail?: string;
}

const PROBE_PROGRAM = String.raw`
import base64, errno, json, socket, ssl, struct, sys, threading, time

def outcome(exc):
    if isinstance(exc, socket.gaierror):
        return "unresolved"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, PermissionError):
        return "denied"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return "unreachable"
    return "error:%s:%s" % (type(exc).__name__, getattr(exc, "errno", ""))

def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET

def tcp(op):
    s = socket.socket(family(op["host"]), socket.SOCK_STREAM)
    s.settimeout(op.get("timeoutMs", 3000) / 1000)
    try:
        s.connect((op["host"], op["port"]))
        return {"outcome": "connected"}
    except Exception as e:
        return {"outcome": outcome(e)}
    finally:
        s.close()

def datagram(sock, host, port, payload, timeout):
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
        sock.send(payload)
        data = sock.recv(65535)
        return {"outcome": "reply", "detail": base64.b64encode(data[:512]).decode()}
    except Exception as e:
        o = outcome(e)
        return {"outcome": "no-reply" if o == "timeout" else o}
    finally:
        sock.close()

def udp(op):
    s = socket.socket(family(op["host"]), socket.SOCK_DGRAM)
    return datagram(s, op["host"], op["port"], op["payload"].encode(), op.get("timeoutMs", 2000) / 1000)

def icmp(op):
    v6 = ":" in op["host"]
    try:
        s = socket.socket(family(op["host"]), socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    except Exception as e:
        return {"outcome": outcome(e)}
    echo = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, 0, 1) + b"claude-bottle escape probe"
    return datagram(s, op["host"], 0, echo, op.get("timeoutMs", 2000) / 1000)

def dns_query(name):
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split("."))
    return struct.pack("!HHHHHH", 0x6362, 0x0100, 1, 0, 0, 0) + labels + b"\x00\x00\x01\x00\x01"

def dns(op):
    query = dns_query(op["name"])
    port = op.get("port", 53)
    timeout = op.get("timeoutMs", 2000) / 1000
    if op["transport"] == "udp":
        r = datagram(socket.socket(family(op["server"]), socket.SOCK_DGRAM), op["server"], port, query, timeout)
    else:
        s = socket.socket(family(op["server"]), socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((op["server"], port))
            s.sendall(struct.pack("!H", len(query)) + query)
            data = s.recv(65535)
            r = {"outcome": "reply" if data else "no-reply", "detail": base64.b64encode(data[2:514]).decode()}
        except Exception as e:
            r = {"outcome": outcome(e)}
        finally:
            s.close()
    if r["outcome"] == "reply":
        answer = base64.b64decode(r["detail"])
        r["detail"] = "rcode=%d answers=%d" % (answer[3] & 15, struct.unpack("!H", answer[6:8])[0]) if len(answer) >= 8 else "short"
    return r

def resolve(op):
    try:
        infos = socket.getaddrinfo(op["name"], 443, proto=socket.IPPROTO_TCP)
        return {"outcome": "resolved", "detail": ",".join(sorted(set(i[4][0] for i in infos)))}
    except Exception as e:
        return {"outcome": outcome(e)}

def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data

def status_of(head):
    parts = head.split(b" ", 2)
    try:
        return int(parts[1]) if head.startswith(b"HTTP/") else None
    except (IndexError, ValueError):
        return None

def exchange(op):
    host, port = op["proxy"].rsplit(":", 1)
    result = {"outcome": "exchanged"}
    try:
        s = socket.create_connection((host, int(port)), timeout=10)
    except Exception as e:
        return {"outcome": outcome(e)}
    try:
        if op.get("connect"):
            s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (op["connect"], op["connect"])).encode())
            head = read_head(s)
            result["connectStatus"] = status_of(head)
            if result["connectStatus"] != 200:
                rest = b""
                try:
                    s.settimeout(2)
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        rest += chunk
                except Exception:
                    pass
                result["response"] = (head + rest).decode("latin1")[:65536]
                return result
            if op.get("tls"):
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                sni = op["sni"] if "sni" in op else op["connect"].rsplit(":", 1)[0]
                s = ctx.wrap_socket(s, server_hostname=sni)
        for i, chunk in enumerate(op["send"]):
            if i > 0:
                time.sleep(op.get("delayMs", 0) / 1000)
            s.sendall(base64.b64decode(chunk))
        s.settimeout(op.get("quietMs", 3000) / 1000)
        data = b""
        try:
            while len(data) < 1 << 20:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, TimeoutError):
            pass
        except (ConnectionResetError, ssl.SSLError) as e:
            result["detail"] = type(e).__name__
        result["status"] = status_of(data)
        result["response"] = data.decode("latin1")[:65536]
        return result
    except Exception as e:
        result["outcome"] = outcome(e)
        result["detail"] = str(e)[:300]
        return result
    finally:
        s.close()

KINDS = {"tcp": tcp, "udp": udp, "icmp": icmp, "dns": dns, "resolve": resolve, "exchange": exchange}
ops = json.load(sys.stdin)
results = [None] * len(ops)
def run(i):
    try:
        results[i] = KINDS[ops[i]["kind"]](ops[i])
    except Exception as e:
        results[i] = {"outcome": "error:%s" % type(e).__name__, "detail": str(e)[:300]}
threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ops))]
for t in threads:
    t.start()
for t in threads:
    t.join()
json.dump(results, sys.stdout)
`;

import { withOutput } from "../cli/process-output.js";

/**
 * Runs the probes in the agent container as the agent user; one result per probe, in order.
 * `env` names the engine that holds the container (a swarm node's DOCKER_HOST); this one by
 * default.
 */
export function probe(
  agentContainer: string,
  ops: readonly ProbeOp[],
  env: NodeJS.ProcessEnv = {},
): Promise<ProbeResult[]> {
  const wire = ops.map((op) =>
    op.kind === "exchange" ? { ...op, send: op.send.map((b) => b.toString("base64")) } : op,
  );
  return new Promise((resolve, reject) => {
    const child = withOutput(
      spawn(
        "docker",
        ["exec", "-i", "-u", "agent", agentContainer, "python3", "-c", PROBE_PROGRAM],
        { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } },
      ),
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const { stdout, stderr } = child.output();
      if (code !== 0) {
        reject(new Error(`probe in ${agentContainer} exited with ${code}:\n${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout) as ProbeResult[]);
    });
    child.stdin.end(JSON.stringify(wire));
  });
}

/** Runs one probe. */
export async function probeOne(agentContainer: string, op: ProbeOp): Promise<ProbeResult> {
  const [result] = await probe(agentContainer, [op]);
  if (result === undefined) throw new Error("the probe returned nothing");
  return result;
}

/** An HTTP/1.1 request as bytes, headers in the order given. */
export function httpRequest(
  requestLine: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body: Buffer | string = "",
): Buffer {
  const head = `${requestLine}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), Buffer.from(body)]);
}

/** One masked client WebSocket frame (RFC 6455 §5.2), as a client must send it. */
export function webSocketFrame(
  opcode: number,
  payload: Buffer | string,
  options: { fin?: boolean } = {},
): Buffer {
  const data = Buffer.from(payload);
  const mask = Buffer.from([0x5a, 0x13, 0xc7, 0x2e]);
  const first = ((options.fin ?? true) ? 0x80 : 0) | opcode;
  let header: Buffer;
  if (data.length < 126) header = Buffer.from([first, 0x80 | data.length]);
  else if (data.length < 65536) {
    header = Buffer.alloc(4);
    header.writeUInt8(first, 0);
    header.writeUInt8(0x80 | 126, 1);
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header.writeUInt8(first, 0);
    header.writeUInt8(0x80 | 127, 1);
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  const masked = Buffer.from(data.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([header, mask, masked]);
}

/** The WebSocket opening handshake a client sends. */
export function webSocketUpgrade(path: string, host: string): Buffer {
  return httpRequest(`GET ${path} HTTP/1.1`, [
    ["Host", host],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
    ["Sec-WebSocket-Version", "13"],
  ]);
}
