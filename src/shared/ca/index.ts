// The bottle CA: mint it, load it, sign per-host leaves with it, cache the leaves.
export { LeafCache, type LeafCacheOptions } from "./leaf-cache.js";
export {
  type CaPem,
  loadCa,
  type MintCaOptions,
  type MintedCa,
  mintCa,
  type RandomBytes,
  type SigningCa,
} from "./mint-ca.js";
export {
  createLeafKey,
  type LeafCertificate,
  type LeafKey,
  type MintLeafOptions,
  mintLeafCertificate,
} from "./mint-leaf.js";
