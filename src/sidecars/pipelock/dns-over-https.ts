// DNS-over-HTTPS through an allowed resolver: every name a query asks for reaches that name's
// own name server, so a query is a host name sent anywhere. pipelock reads the names out of
// each form a query takes (RFC 8484 wire format in a POST body or a GET `dns` parameter, and
// the JSON API's `name` parameter) and checks them like hosts under a wildcard. A request
// that says it is a DNS query but does not parse is refused. Pure.
import type { IncomingHttpHeaders } from "node:http";
import { checkDnsNames, type NamesCheck } from "./admission.js";
import { decodeDnsParameter, parseDnsQuery } from "./dns-message.js";
import { unreadableDnsQuery } from "./messages.js";
import type { Policy } from "./policy.js";

export type DnsQuestions =
  | { kind: "names"; names: string[][] }
  | { kind: "malformed"; detail: string };

export interface DohRequest {
  path: string;
  /** The raw query without "?", or null. */
  query: string | null;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

const WIRE = "application/dns-message";
const JSON_API = "application/dns-json";

/** The names a request asks a resolver for; none when it is not a DNS query at all. */
export function dnsQuestions(req: DohRequest): DnsQuestions {
  const contentType = mediaType(req.headers["content-type"]);
  const accept = (req.headers.accept ?? "").toLowerCase();
  const wire = contentType === WIRE || accept.includes(WIRE) || /\/dns-query$/i.test(req.path);
  const json =
    contentType === JSON_API || accept.includes(JSON_API) || /\/resolve$/i.test(req.path);
  const names: string[][] = [];
  if (contentType === WIRE) {
    const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
    if (encoding !== "identity") {
      return { kind: "malformed", detail: `a ${encoding}-encoded body; send it as is` };
    }
    const parsed = parseDnsQuery(req.body);
    if (!parsed.ok) return { kind: "malformed", detail: parsed.detail };
    names.push(...parsed.names);
  }
  const params = new URLSearchParams(req.query ?? "");
  for (const value of params.getAll("dns")) {
    const bytes = decodeDnsParameter(value);
    const parsed = bytes === undefined ? undefined : parseDnsQuery(bytes);
    if (parsed?.ok) names.push(...parsed.names);
    // A `dns` parameter elsewhere may be anything; to a DNS endpoint it must be a query.
    else if (wire) {
      return { kind: "malformed", detail: parsed?.detail ?? "the dns parameter is not base64url" };
    }
  }
  if (json || wire) {
    for (const name of params.getAll("name")) {
      const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
      if (trimmed !== "") names.push(trimmed.split("."));
    }
  }
  return { kind: "names", names };
}

/** The check request-handler runs on every request once its body is read. */
export function checkDnsQuery(policy: Policy, req: DohRequest, shownHost: string): NamesCheck {
  const questions = dnsQuestions(req);
  if (questions.kind === "malformed") {
    return {
      ok: false,
      decision: "denied",
      rule: "dns-malformed",
      location: "dns-question",
      refusal: unreadableDnsQuery(questions.detail),
    };
  }
  if (questions.names.length === 0) return { ok: true, findings: [] };
  return checkDnsNames(policy, questions.names, shownHost);
}

function mediaType(value: string | undefined): string {
  return (value ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}
