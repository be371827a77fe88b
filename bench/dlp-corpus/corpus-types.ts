// What the clean-traffic corpus is made of: one file per item, described by how it travels
// (the request line, headers, content type and encoding a real client sends it with).

export type ItemKind =
  | "npm-tarball"
  | "npm-publish"
  | "npm-packument"
  | "pypi-wheel"
  | "pypi-index"
  | "git-upload-pack"
  | "git-receive-pack"
  | "git-push-scan"
  | "model-api"
  | "model-stream"
  | "minified-js"
  | "image"
  | "source-map"
  | "lockfile-json"
  | "websocket";

/**
 * request: an outbound request body, scanned as pipelock scans requests.
 * response: what a route host sends back (scanned as egress scans responses, when it does).
 * websocket: client messages of one connection, scanned as pipelock's WebSocket relay does.
 * push: a git repository whose new commits git-gate's push scan reads.
 */
export type Carriage = "request" | "response" | "websocket" | "push";

export interface CorpusItem {
  kind: ItemKind;
  /** A short name for the table's refusal lines: never a value. */
  name: string;
  carriage: Carriage;
  /** Relative to the corpus directory (a directory for "push"). */
  file: string;
  host: string;
  method?: string;
  path?: string;
  query?: string;
  headers: [string, string][];
  contentType?: string;
  /** The file's bytes are already encoded so (gzip where real traffic is). */
  contentEncoding?: string;
  /** websocket: byte length of each message in the file, in order. */
  messages?: number[];
  /** Real traffic also carries this back from a host (a download): egress scans it as a response. */
  alsoResponse?: boolean;
  /** push: the ref pushed and the commit it is set to; the repository holds no ref to it. */
  push?: { ref: string; newId: string };
}

export interface CorpusManifest {
  items: CorpusItem[];
}
