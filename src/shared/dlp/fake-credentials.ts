// Credential-shaped strings for tests, assembled at run time so that no token-like literal sits
// in the source (where secret scanners would rightly complain). None of them is valid anywhere.

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64 = `${ALNUM}+/`;
const LETTERS = ALNUM.slice(0, 52);

/** Deterministic filler of `length` characters from `alphabet`. */
export function filler(length: number, alphabet = ALNUM, seed = 7): string {
  let state = seed;
  let out = "";
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out += alphabet[state % alphabet.length];
  }
  return out;
}

/** A matching credential for each rule id, and a near miss that must not match. */
export const FAKE_CREDENTIALS: Record<string, { hit: string; miss: string }> = {
  "aws-access-token": {
    hit: `AK${"IA"}${filler(16, UPPER_B32)}`,
    miss: `AK${"IA"}${filler(15, UPPER_B32)}`,
  },
  "aws-secret-access-key": {
    hit: `aws_secret_access_key = ${filler(40, B64)}`,
    miss: `aws_secret_access_key = ${filler(39, B64)}`,
  },
  "github-pat": { hit: `gh${"p_"}${filler(36)}`, miss: `gh${"p_"}${filler(35)}` },
  "github-oauth": { hit: `gh${"o_"}${filler(36)}`, miss: `gh${"o_"}${filler(35)}!` },
  "github-app-token": { hit: `gh${"s_"}${filler(36)}`, miss: `gh${"x_"}${filler(36)}` },
  "github-refresh-token": { hit: `gh${"r_"}${filler(36)}`, miss: `gh${"r_"}${filler(20)}` },
  "github-fine-grained-pat": {
    hit: `github${"_pat_"}${filler(82)}`,
    miss: `github${"_pat_"}${filler(81)}`,
  },
  "gitlab-pat": { hit: `gl${"pat-"}${filler(20)}`, miss: `gl${"pat-"}${filler(19)}` },
  "gitlab-token": { hit: `gl${"dt-"}${filler(24)}`, miss: `gl${"dt-"}${filler(10)}` },
  "slack-token": {
    hit: `xo${"xb-"}123456789012-1234567890123-${filler(24)}`,
    miss: `xo${"xb-"}notdigits-${filler(24)}`,
  },
  "slack-webhook-url": {
    hit: `https://hooks.${"slack.com"}/services/T${filler(8, "0123456789")}/B${filler(10, "0123456789")}/${filler(24)}`,
    miss: `https://hooks.${"slack.com"}/services/T123/B456/${filler(8)}`,
  },
  "stripe-access-token": { hit: `sk${"_live_"}${filler(24)}`, miss: `sk${"_live_"}${filler(9)}` },
  "anthropic-api-key": {
    hit: `sk-${"ant-api03-"}${filler(93)}AA`,
    miss: `sk-${"ant-api03-"}${filler(50)}`,
  },
  "openai-api-key": { hit: `sk-${"proj-"}${filler(60)}`, miss: `sk-${"proj-"}${filler(20)}` },
  "gcp-api-key": { hit: `AI${"za"}${filler(35)}`, miss: `AI${"za"}${filler(34)}` },
  "private-key": {
    hit: `-----BEGIN ${"RSA PRIVATE"} KEY-----\n${filler(64, B64)}\n${filler(64, B64)}\n-----END RSA PRIVATE KEY-----\n`,
    miss: `-----BEGIN ${"PUBLIC"} KEY-----\n${filler(64, B64)}\n-----END PUBLIC KEY-----\n`,
  },
  jwt: {
    hit: `ey${"JhbGciOiJIUzI1NiJ9"}.ey${"JzdWIiOiIxMjM0NTY3ODkwIn0"}.${filler(43)}`,
    miss: `ey${"JhbGciOiJIUzI1NiJ9"}.notajwt.${filler(43)}`,
  },
  "npm-access-token": { hit: `np${"m_"}${filler(36)}`, miss: `np${"m_"}${filler(35)}` },
  "pypi-upload-token": {
    hit: `py${"pi-AgEIcHlwaS5vcmc"}${filler(60)}`,
    miss: `py${"pi-AgEIcHlwaS5vcmc"}${filler(20)}`,
  },
  "huggingface-access-token": {
    hit: `h${"f_"}${filler(34, LETTERS)}`,
    miss: `h${"f_"}${filler(33, LETTERS)}`,
  },
};

/** The legacy OpenAI key shape, with its base64 "OpenAI" marker. */
export const FAKE_OPENAI_LEGACY = `sk-${filler(20)}${"T3Blbk"}FJ${filler(20)}`;
