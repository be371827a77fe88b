import { describe, expect, it } from "vitest";
import { parseHostPort } from "./authority.js";

describe("parseHostPort", () => {
  it.each([
    ["api.test", { text: "api.test", host: "api.test", bracketed: false }],
    ["API.Test.", { text: "API.Test.", host: "api.test", bracketed: false }],
    ["api.test:443", { text: "api.test", host: "api.test", bracketed: false, port: 443 }],
    ["api.test:0443", { text: "api.test", host: "api.test", bracketed: false, port: 443 }],
    ["api.test:65535", { text: "api.test", host: "api.test", bracketed: false, port: 65535 }],
    ["[::1]:8080", { text: "[::1]", host: "::1", bracketed: true, port: 8080 }],
    ["[2001:DB8::1]", { text: "[2001:DB8::1]", host: "2001:db8::1", bracketed: true }],
    ["10.0.0.1:80", { text: "10.0.0.1", host: "10.0.0.1", bracketed: false, port: 80 }],
    ["under_score.test", { text: "under_score.test", host: "under_score.test", bracketed: false }],
  ])("reads %j", (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });

  it.each([
    ["nothing", ""],
    ["no host", ":443"],
    ["an empty port", "api.test:"],
    ["a signed port", "api.test:+443"],
    ["a space in the port", "api.test:44 3"],
    ["port 0", "api.test:0"],
    ["a port above 65535", "api.test:65536"],
    ["a six-digit port", "api.test:100443"],
    ["a second colon", "api.test:443:1"],
    ["an unbracketed IPv6 address", "::1"],
    ["a bracketed name", "[api.test]"],
    ["a bracketed name and port", "[api.test]:443"],
    ["a bracketed IPv4 address", "[10.0.0.1]"],
    ["an unclosed bracket", "[::1"],
    ["text after the bracket", "[::1]x"],
    ["a zone id", "[fe80::1%eth0]"],
    ["an encoded zone id", "[fe80::1%25eth0]:443"],
    ["userinfo", "user@api.test"],
    ["userinfo and port", "user:pw@api.test:443"],
    ["a path", "api.test/"],
    ["a backslash", "api.test\\"],
    ["a percent-escape", "api%2etest"],
    ["an encoded letter", "%61pi.test"],
    ["an empty label", "api..test"],
    ["a leading dot", ".api.test"],
    ["a lone hyphen", "-"],
    ["a trailing hyphen", "api-"],
    ["a space", "api test"],
    ["a non-ASCII letter", "ápi.test"],
    ["a full-width letter", "ａpi.test"],
  ])("refuses %s", (_, text) => {
    expect(parseHostPort(text)).toBeUndefined();
  });
});
