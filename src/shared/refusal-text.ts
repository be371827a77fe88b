// The text a sidecar answers with in place of the upstream's answer: who refused, what and
// why, and what to do about it (the supervise tool to call, or what to ask of the user), for
// a person and an agent alike; and the same text folded into one header line, for clients
// that show a refused CONNECT's status but not its body. Callers pass hosts, rule ids and
// reasons, never request contents: nothing here may carry a secret. Pure.

/** Every answer a sidecar gives in place of the upstream's carries this header. */
export const REFUSAL_HEADER = "X-Claude-Bottle-Refusal";

export interface RefusalWording {
  /** Who answers, as the agent knows it: "pipelock (this bottle's egress firewall)". */
  by?: string | undefined;
  /** What it did, then why, after `by`: "blocked this request: … ." */
  reason: string;
  /** What to do about it; absent when there is nothing to do. */
  next?: string | undefined;
}

/** "<by> <reason>\n<next>\n": the body of a refusal. */
export function formatRefusal(wording: RefusalWording): string {
  const said = wording.by === undefined ? wording.reason : `${wording.by} ${wording.reason}`;
  return wording.next === undefined ? `${said}\n` : `${said}\n${wording.next}\n`;
}

/** "call the MCP tool `name` of the `server` server <with>": how an agent asks for more. */
export function callTool(tool: { name: string; server: string }, withWhat: string): string {
  return `call the MCP tool \`${tool.name}\` of the \`${tool.server}\` server ${withWhat}`;
}

/** A refusal's text as one header value: whitespace folded, anything but printable ASCII "?". */
export function refusalHeaderValue(text: string): string {
  return text
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[^\x20-\x7e]/g, "?");
}
