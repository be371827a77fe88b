// "host[:port]" as CONNECT targets, absolute-form URLs and Host headers carry it, read one
// strict way by every sidecar: a name of ASCII letters, digits, "-", "_" and "." (no empty
// label, no userinfo, no percent-escape) or a bracketed IPv6 address without a zone id, then
// an optional port from 1 to 65535. Anything else is undefined, never a best guess: a server
// may read an odd authority differently from the proxy that checked it. Pure.
import { isIPv6 } from "node:net";

export interface HostPort {
  /** The host as written, brackets and case kept (a spelling to check for secrets). */
  text: string;
  /** Lower case, without brackets or a trailing dot. */
  host: string;
  /** Written as "[v6]". */
  bracketed: boolean;
  /** Absent when the text named none. */
  port?: number;
}

const NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_.])?$/;
const PORT = /^[0-9]{1,5}$/;

export function parseHostPort(authority: string): HostPort | undefined {
  let text: string;
  let host: string;
  let rest: string;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close === -1) return undefined;
    const literal = authority.slice(1, close);
    // A zone id ("fe80::1%eth0") names an interface of the machine that reads it.
    if (!isIPv6(literal) || literal.includes("%")) return undefined;
    text = authority.slice(0, close + 1);
    host = literal.toLowerCase();
    rest = authority.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return undefined;
  } else {
    const colon = authority.indexOf(":");
    text = colon === -1 ? authority : authority.slice(0, colon);
    rest = colon === -1 ? "" : authority.slice(colon);
    if (!NAME.test(text) || text.includes("..")) return undefined;
    host = text.toLowerCase().replace(/\.$/, "");
  }
  const bracketed = text.startsWith("[");
  if (rest === "") return { text, host, bracketed };
  // An empty port ("host:") is legal in RFC 3986 and read as the default by some servers and
  // as an error by others: refused, so no two readings can differ.
  const portText = rest.slice(1);
  if (!PORT.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { text, host, bracketed, port };
}
