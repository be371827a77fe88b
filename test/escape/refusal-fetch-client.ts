// Run inside the agent (bundled): fetch through the proxy the environment names, as Node
// tools do, and print what the caller of fetch gets to read.
import { EnvHttpProxyAgent, fetch } from "undici";

const url = process.argv[2] ?? "";
const res = await fetch(url, { dispatcher: new EnvHttpProxyAgent() });
const body = await res.text();
console.log(
  JSON.stringify({ status: res.status, header: res.headers.get("x-claude-bottle-refusal"), body }),
);
