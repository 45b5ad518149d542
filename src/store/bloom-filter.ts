/**
 * A bloom filter over 32-bit token hashes (tokenizer.ts), one per block: "can this
 * block hold token t?" — no means skip the block, yes may be a false positive.
 *
 *   bits m  = BITS_PER_KEY × distinct hashes, rounded up to 64 (at least 64)
 *   probes  = K positions (h1 + i·h2) mod m, h2 = mix(h1) | 1   (double hashing)
 *
 * With 10 bits per key and 7 probes the false-positive rate is about 0.8%, so a
 * needle query (a token in one block) reads ~1% of the other blocks.
 *
 * Serialized (docs/storage.md): u32 m · u8 k · m/8 bytes of bits (bit j of byte b is
 * bit 8b + j).
 */
import type { HashSet32 } from './tokenizer.js';
import { ByteReader, ByteWriter, CorruptError } from './byte-buffer.js';

export const BITS_PER_KEY = 10;
export const K = 7;
/** Bloom filters larger than this are cut to it (an absurd number of distinct tokens in one block). */
const MAX_BITS = 64 * 1024 * 1024;

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h | 1) >>> 0;
}

export class BloomFilter {
  constructor(readonly bits: Uint8Array, readonly m: number, readonly k: number) {}

  static build(hashes: HashSet32): BloomFilter {
    let m = Math.ceil((Math.max(hashes.size, 1) * BITS_PER_KEY) / 64) * 64;
    if (m > MAX_BITS) m = MAX_BITS;
    const bits = new Uint8Array(m / 8);
    hashes.forEach((h) => {
      const h1 = h >>> 0;
      const h2 = mix(h1);
      for (let i = 0; i < K; i++) {
        const p = (h1 + i * h2) % m;
        bits[p >>> 3]! |= 1 << (p & 7);
      }
    });
    return new BloomFilter(bits, m, K);
  }

  mayContain(h: number): boolean {
    const h1 = (h >>> 0) || 1;
    const h2 = mix(h1);
    const m = this.m;
    for (let i = 0; i < this.k; i++) {
      const p = (h1 + i * h2) % m;
      if ((this.bits[p >>> 3]! & (1 << (p & 7))) === 0) return false;
    }
    return true;
  }

  get byteLength(): number {
    return 5 + this.bits.length;
  }

  marshal(w: ByteWriter): void {
    w.u32(this.m);
    w.u8(this.k);
    w.bytes(this.bits);
  }

  static unmarshal(r: ByteReader): BloomFilter {
    const m = r.u32();
    const k = r.u8();
    if (m === 0 || m % 64 !== 0 || m > MAX_BITS || k === 0 || k > 32) throw new CorruptError(`bad bloom filter header m=${m} k=${k}`);
    return new BloomFilter(r.bytes(m / 8), m, k);
  }
}
