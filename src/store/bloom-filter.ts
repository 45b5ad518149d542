/**
 * A bloom filter over 32-bit token hashes (tokenizer.ts), one per block: "can this
 * block hold token t?" — no means skip the block, yes may be a false positive.
 *
 * Split-block layout (as Parquet's bloom filters): the bits are blocks of 256 bits
 * (8 words of 32); a key picks one block from its hash and sets one bit in each of
 * the block's 8 words, chosen by multiplying a second hash with 8 odd constants.
 * Every probe of a key lands in one 32-byte stretch of memory, which makes building
 * and probing several times faster than independent probes, for a slightly higher
 * false-positive rate at the same size.
 *
 *   blocks  = ceil(distinct hashes × BITS_PER_KEY / 256)   (at least 1)
 *   block   = ⌊mix(h) × blocks / 2^32⌋      (h = the token hash; mix spreads any h over 32 bits)
 *   bit w   = (mix2(h) × SALT[w]) >>> 27 in word w
 *
 * With 10 bits per key the false-positive rate is about 1.3% (measured: 8 bits give
 * 3.4%, 9 give 2.0%), so a needle query (a token in one block) reads 1–2% of the other
 * blocks. Unique ids make most of a block's distinct tokens, so bits per key is what
 * the index costs per id: 10 keeps the index under a tenth of the compressed blocks.
 *
 * Serialized (docs/storage.md): u32 m (bits, a multiple of 256) · u8 k (8) · m/8 bytes
 * (the words little-endian).
 */
import type { HashSet32 } from './tokenizer.js';
import { ByteReader, ByteWriter, CorruptError } from './byte-buffer.js';

export const BITS_PER_KEY = 10;
export const K = 8;
export const BLOCK_BITS = 256;
/** Bloom filters larger than this are cut to it (an absurd number of distinct tokens in one block). */
export const MAX_BITS = 64 * 1024 * 1024;
const SALT = Uint32Array.of(0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31);

/** A 32-bit finalizer (murmur3's): spreads any input over all 32 bits (the fuse filter's fmix too). */
export function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A second, independent finalizer, for the bits within the block. */
function mix2(h: number): number {
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

export class BloomFilter {
  private readonly words: Uint32Array;
  private readonly blocks: number;

  constructor(readonly bits: Uint8Array, readonly m: number, readonly k: number) {
    // Words are read in place; a copy only when the bytes are not 4-byte aligned (a view into a file buffer).
    const aligned = bits.byteOffset % 4 === 0 ? bits : Uint8Array.from(bits);
    this.words = new Uint32Array(aligned.buffer, aligned.byteOffset, m / 32);
    this.blocks = m / BLOCK_BITS;
  }

  static build(hashes: Pick<HashSet32, 'size' | 'slots'>): BloomFilter {
    let blocks = Math.max(1, Math.ceil((hashes.size * BITS_PER_KEY) / BLOCK_BITS));
    if (blocks * BLOCK_BITS > MAX_BITS) blocks = MAX_BITS / BLOCK_BITS;
    const words = new Uint32Array(blocks * 8);
    const slots = hashes.slots;
    for (let s = 0; s < slots.length; s++) {
      const h = slots[s]!;
      if (h === 0) continue;
      const base = Math.floor((mix(h) * blocks) / 4294967296) * 8;
      const h2 = mix2(h);
      for (let w = 0; w < 8; w++) words[base + w]! |= 1 << (Math.imul(h2, SALT[w]!) >>> 27);
    }
    const bits = new Uint8Array(words.buffer);
    return new BloomFilter(bits, blocks * BLOCK_BITS, K);
  }

  mayContain(hash: number): boolean {
    const h = (hash >>> 0) || 1; // HashSet32 stores 0 as 1
    const base = Math.floor((mix(h) * this.blocks) / 4294967296) * 8;
    const h2 = mix2(h);
    const words = this.words;
    for (let w = 0; w < 8; w++) {
      const bit = 1 << (Math.imul(h2, SALT[w]!) >>> 27);
      if ((words[base + w]! & bit) === 0) return false;
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
    if (m === 0 || m % BLOCK_BITS !== 0 || m > MAX_BITS || k !== K) throw new CorruptError(`bad bloom filter header m=${m} k=${k}`);
    return new BloomFilter(r.bytes(m / 8), m, k);
  }
}
