import { describe, expect, it } from "vitest";
import { callTool, formatRefusal, refusalHeaderValue } from "./refusal-text.js";

describe("formatRefusal", () => {
  it("says who refused, why, and what to do, one part a line", () => {
    const refusal = {
      by: "pipelock (this bottle's egress firewall)",
      reason: 'blocked this request: "x.test:443" is not on this bottle\'s egress allowlist.',
      next: `To ask for it, ${callTool({ name: "request_egress_host", server: "supervise" }, 'with host "x.test"')}.`,
    };
    expect(formatRefusal(refusal)).toBe(
      "pipelock (this bottle's egress firewall) blocked this request: \"x.test:443\" is not on this bottle's egress allowlist.\n" +
        'To ask for it, call the MCP tool `request_egress_host` of the `supervise` server with host "x.test".\n',
    );
  });

  it("keeps a reason that names its speaker, and leaves out an empty next step", () => {
    expect(formatRefusal({ reason: "egress expects CONNECT host:port" })).toBe(
      "egress expects CONNECT host:port\n",
    );
  });
});

describe("refusalHeaderValue", () => {
  it("folds the text onto one line of printable ASCII", () => {
    expect(refusalHeaderValue('blocked:\n  "ä.test"\tis\r\nnot listed.\n')).toBe(
      'blocked: "?.test" is not listed.',
    );
  });

  it("can never split a header or start another", () => {
    const value = refusalHeaderValue("a\r\nSet-Cookie: x=1\u2028\u0000b");
    expect(value).not.toMatch(/[\r\n\0]/);
    expect(value).toBe("a Set-Cookie: x=1 ?b");
  });
});
