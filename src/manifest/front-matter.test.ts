import { describe, expect, it } from "vitest";
import { splitFrontMatter } from "./front-matter.js";

describe("splitFrontMatter", () => {
  it("splits YAML from the body, dropping blank lines around the body", () => {
    expect(splitFrontMatter("---\nbottle: dev\n---\n\n# Title\n\n  indented\n\n", "a.md")).toEqual({
      yaml: "bottle: dev",
      yamlLineOffset: 1,
      body: "# Title\n\n  indented",
    });
  });

  it("accepts CRLF, a byte-order mark, and an empty front matter", () => {
    expect(splitFrontMatter("\uFEFF---\r\n---\r\nbody\r\n", "a.md")).toEqual({
      yaml: "",
      yamlLineOffset: 1,
      body: "body",
    });
  });

  it("keeps a later '---' in the body", () => {
    expect(splitFrontMatter("---\na: 1\n---\nabove\n---\nbelow", "a.md").body).toBe(
      "above\n---\nbelow",
    );
  });

  it("does not run front matter of other kinds", () => {
    expect(() => splitFrontMatter('---js\nrequire("child_process")\n---\n', "a.md")).toThrow(
      'a.md:1:1: missing front matter: the first line must be "---"',
    );
  });
});
