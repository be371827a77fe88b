// The DLP engine: credential patterns and known secrets, found in decoded request parts.
export { CREDENTIAL_RULES, type CredentialRule } from "./credential-rules.js";
export {
  type KnownSecret,
  MIN_SECRET_LENGTH,
  type SecretEncoding,
  secretVariants,
} from "./known-secrets.js";
export type {
  DlpFinding,
  DlpVerdict,
  ScanBody,
  ScanTarget,
  UnscannableReason,
} from "./scan-types.js";
export {
  createScanWorkerPool,
  isScanWorker,
  type ScanResult,
  type ScanWorkerPool,
  serveScanRequests,
} from "./scan-worker-pool.js";
export {
  createDlpScanner,
  type DlpScanner,
  type DlpScannerOptions,
  type ScanOptions,
  type SkippedSecret,
} from "./scanner.js";
export { KNOWN_SECRET_RULE_ID } from "./text-matcher.js";
