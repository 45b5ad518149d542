/**
 * A binary fuse filter over 32-bit token hashes (tokenizer.ts), one per block: "can this
 * block hold token t?" — no means skip the block, yes may be a false positive (1 in 256).
 * It replaces the split-block bloom filter (bloom-filter.ts) in new index entries:
 * 0.39% false positives instead of ~1.3%, and about 9.6 bits per key instead of 10 for
 * a full block (more below ~15,000 keys: 11.3 at 1,000). The algorithm is the one
 * published by Graf and Lemire ("Binary Fuse Filters: Fast and Smaller Than Xor
 * Filters", 2022), written here from its description.
 *
 * The filter is an array of 8-bit fingerprints, cut into segments of a power-of-two
 * length. A key maps to three slots, one in each of three consecutive segments, and
 * the filter holds it when the XOR of the three slots equals the key's fingerprint:
 *
 *   a = fmix(key ^ seed)      b = fmix(a + GOLDEN)      c = fmix(b + GOLDEN)
 *   s0 = ⌊a × segmentCount × segmentLength / 2^32⌋
 *   s1 = (s0 + segmentLength) ^ (b & (segmentLength − 1))
 *   s2 = (s0 + 2 × segmentLength) ^ (c & (segmentLength − 1))
 *   fingerprint = b >>> 24                     (fmix: murmur3's 32-bit finalizer)
 *
 * Building it is "peeling": a slot that only one key maps to can be given last, so keys
 * are taken off such slots one at a time, then the slots are filled in the reverse
 * order. With the sizes below the first seed works for all but a few percent of key
 * sets; for those the next seed is tried. Everything depends only on the set of keys,
 * not on their order, so the native index (native/block_index.cc) builds the same bytes.
 *
 * The seed is made from the XOR of the block's keys (and the attempt): blocks of the
 * same size would otherwise send a token to the same slots with the same fingerprint,
 * and the tokens common to all blocks would make a needle a false positive in many of
 * them at once (as they did with the bloom filters of store version 1). With a seed of
 * its own, each block's false positives are independent of the others'.
 *
 * The sizes come from Math.log (std::log natively): were they ever to differ by a bit
 * at a boundary, native and JavaScript would build different filters, both valid.
 *
 * Serialized (docs/storage.md, index entry filter kind 1): u32 seed · u32 segmentLength
 * · u32 segmentCount · (segmentCount + 2) × segmentLength fingerprint bytes; an empty
 * filter (no keys) is segmentLength 0, segmentCount 0 and no fingerprints.
 */
import type { HashSet32 } from './tokenizer.js';
import { ByteReader, ByteWriter, CorruptError } from './byte-buffer.js';
import { mix as fmix } from './bloom-filter.js';

const GOLDEN = 0x9e3779b9;
/** Segment lengths are at most this (the published bound for three segments). */
const MAX_SEGMENT_LENGTH = 1 << 18;
/**
 * At most this many slots: ⌊a × slots / 2^32⌋ stays exact in a double (a < 2^32). A
 * block with more distinct tokens than fit gets a bloom filter instead.
 */
export const MAX_FUSE_SLOTS = 1 << 21;
/** Seeds tried before giving up (each fails for a few percent of key sets at most: 64 failures in a row do not happen). */
const MAX_ATTEMPTS = 64;

/** The seed of attempt i (0, 1, …) for keys whose XOR is keysXor: a block's filter is the same wherever it is built. */
export function fuseSeed(keysXor: number, attempt: number): number {
  return fmix((keysXor ^ Math.imul(attempt + 1, GOLDEN)) >>> 0);
}

/** Segment length and count for n keys (n ≥ 1), as the published sizing for three segments. */
export function fuseGeometry(n: number): { segmentLength: number; segmentCount: number } {
  let segmentLength = n <= 1 ? 4 : 2 ** Math.floor(Math.log(n) / Math.log(3.33) + 2.25);
  if (segmentLength > MAX_SEGMENT_LENGTH) segmentLength = MAX_SEGMENT_LENGTH;
  const sizeFactor = n <= 1 ? 0 : Math.max(1.125, 0.875 + (0.25 * Math.log(1_000_000)) / Math.log(n));
  const capacity = Math.round(n * sizeFactor);
  const perSegment = Math.ceil(capacity / segmentLength);
  return { segmentLength, segmentCount: perSegment <= 2 ? 1 : perSegment - 2 };
}

export class FuseFilter {
  constructor(
    readonly seed: number,
    readonly segmentLength: number,
    readonly segmentCount: number,
    /** (segmentCount + 2) × segmentLength fingerprints; empty when the filter holds no key. */
    readonly fingerprints: Uint8Array,
  ) {}

  /**
   * The filter of a set of distinct hashes (HashSet32 slots: 0 is an empty slot), or null
   * when there are too many for one, or no seed worked (the caller makes a bloom filter).
   */
  static build(hashes: Pick<HashSet32, 'size' | 'slots'>): FuseFilter | null {
    const n = hashes.size;
    if (n === 0) return new FuseFilter(0, 0, 0, new Uint8Array(0));
    const keys = new Uint32Array(n);
    let k = 0;
    let keysXor = 0;
    for (const h of hashes.slots) {
      if (h === 0) continue;
      keys[k++] = h;
      keysXor ^= h;
    }
    const { segmentLength, segmentCount } = fuseGeometry(n);
    const slots = (segmentCount + 2) * segmentLength;
    if (slots > MAX_FUSE_SLOTS) return null;
    const count = new Uint32Array(slots);
    const xorKey = new Uint32Array(slots);
    const queue = new Uint32Array(slots);
    const peeledKey = new Uint32Array(n);
    const peeledSlot = new Uint32Array(n);
    const spread = segmentCount * segmentLength;
    const mask = segmentLength - 1;
    const at = new Uint32Array(3);
    const place = (key: number, seed: number): number => {
      const a = fmix((key ^ seed) >>> 0);
      const b = fmix((a + GOLDEN) >>> 0);
      const c = fmix((b + GOLDEN) >>> 0);
      const s0 = Math.floor((a * spread) / 4294967296);
      at[0] = s0;
      at[1] = (s0 + segmentLength) ^ (b & mask);
      at[2] = (s0 + 2 * segmentLength) ^ (c & mask);
      return b >>> 24;
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const seed = fuseSeed(keysXor >>> 0, attempt);
      count.fill(0);
      xorKey.fill(0);
      for (let i = 0; i < n; i++) {
        const key = keys[i]!;
        place(key, seed);
        for (let j = 0; j < 3; j++) {
          count[at[j]!]!++;
          xorKey[at[j]!]! ^= key;
        }
      }
      // Peel: slots held by one key, lowest first, then those that become so (last in, first out).
      let top = 0;
      for (let s = 0; s < slots; s++) if (count[s] === 1) queue[top++] = s;
      let peeled = 0;
      while (top > 0) {
        const s = queue[--top]!;
        if (count[s] !== 1) continue;
        const key = xorKey[s]!;
        peeledKey[peeled] = key;
        peeledSlot[peeled] = s;
        peeled++;
        place(key, seed);
        for (let j = 0; j < 3; j++) {
          const t = at[j]!;
          count[t]!--;
          xorKey[t]! ^= key;
          if (count[t] === 1) queue[top++] = t;
        }
      }
      if (peeled !== n) continue;
      // Fill in reverse: each key's slot is the one no later key uses.
      const fp = new Uint8Array(slots);
      for (let p = n - 1; p >= 0; p--) {
        const f = place(peeledKey[p]!, seed);
        fp[peeledSlot[p]!] = f ^ fp[at[0]!]! ^ fp[at[1]!]! ^ fp[at[2]!]!;
      }
      return new FuseFilter(seed, segmentLength, segmentCount, fp);
    }
    return null;
  }

  mayContain(hash: number): boolean {
    const fp = this.fingerprints;
    if (fp.length === 0) return false;
    const key = hash >>> 0 || 1; // HashSet32 stores 0 as 1
    const L = this.segmentLength;
    const a = fmix((key ^ this.seed) >>> 0);
    const b = fmix((a + GOLDEN) >>> 0);
    const c = fmix((b + GOLDEN) >>> 0);
    const s0 = Math.floor((a * this.segmentCount * L) / 4294967296);
    const mask = L - 1;
    return (b >>> 24) === (fp[s0]! ^ fp[(s0 + L) ^ (b & mask)]! ^ fp[(s0 + 2 * L) ^ (c & mask)]!);
  }

  get byteLength(): number {
    return 12 + this.fingerprints.length;
  }

  marshal(w: ByteWriter): void {
    w.u32(this.seed);
    w.u32(this.segmentLength);
    w.u32(this.segmentCount);
    w.bytes(this.fingerprints);
  }

  static unmarshal(r: ByteReader): FuseFilter {
    const seed = r.u32();
    const segmentLength = r.u32();
    const segmentCount = r.u32();
    if (segmentLength === 0 && segmentCount === 0) return new FuseFilter(seed, 0, 0, new Uint8Array(0));
    const slots = (segmentCount + 2) * segmentLength;
    if (segmentLength < 4 || segmentLength > MAX_SEGMENT_LENGTH || (segmentLength & (segmentLength - 1)) !== 0 || segmentCount < 1 || slots > MAX_FUSE_SLOTS) {
      throw new CorruptError(`bad fuse filter header: segment length ${segmentLength}, ${segmentCount} segments`);
    }
    return new FuseFilter(seed, segmentLength, segmentCount, r.bytes(slots));
  }
}
