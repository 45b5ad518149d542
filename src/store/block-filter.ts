/**
 * A block's token filter (docs/storage.md, "Index"): what an index entry holds after
 * the block header, and what queries probe to skip blocks.
 *
 *   bloom (store format 1, and format 2 when a fuse filter cannot be built):
 *     u32 m (bits: a multiple of 256, ≥ 256) · u8 k · m/8 bytes        (bloom-filter.ts)
 *   binary fuse (store format 2):
 *     u32 0 · u8 kind = 1 · u32 seed · u32 segment length · u32 segments · fingerprints
 *                                                                       (fuse-filter.ts)
 *
 * A bloom filter's m is never 0, so the zero word tells the kinds apart.
 */
import { BloomFilter } from './bloom-filter.js';
import { FuseFilter } from './fuse-filter.js';
import { ByteReader, ByteWriter, CorruptError } from './byte-buffer.js';
import type { HashSet32 } from './tokenizer.js';

export type BlockFilter = BloomFilter | FuseFilter;

/** Kind byte of a binary fuse filter with 8-bit fingerprints. */
export const FILTER_FUSE8 = 1;

/** The filter of a set of distinct hashes: a binary fuse filter, or a bloom filter when it cannot be one. */
export function buildFilter(hashes: Pick<HashSet32, 'size' | 'slots'>): BlockFilter {
  return FuseFilter.build(hashes) ?? BloomFilter.build(hashes);
}

export function filterByteLength(f: BlockFilter): number {
  return f instanceof FuseFilter ? 5 + f.byteLength : f.byteLength;
}

export function marshalFilter(f: BlockFilter, w: ByteWriter): void {
  if (f instanceof FuseFilter) {
    w.u32(0);
    w.u8(FILTER_FUSE8);
  }
  f.marshal(w);
}

export function unmarshalFilter(r: ByteReader): BlockFilter {
  const at = r.pos;
  if (r.remaining >= 4 && r.u32() === 0) {
    const kind = r.u8();
    if (kind !== FILTER_FUSE8) throw new CorruptError(`unknown block filter kind ${kind}`);
    return FuseFilter.unmarshal(r);
  }
  r.pos = at;
  return BloomFilter.unmarshal(r);
}

/** The filter as it is written in an index entry (to pass it between threads, or compare). */
export function filterBytes(f: BlockFilter): Uint8Array {
  const w = new ByteWriter(filterByteLength(f));
  marshalFilter(f, w);
  return w.view();
}

/** The filter of filterBytes() output. */
export function filterFromBytes(bytes: Uint8Array): BlockFilter {
  const r = new ByteReader(bytes);
  const f = unmarshalFilter(r);
  if (r.remaining !== 0) throw new CorruptError('bytes after a block filter');
  return f;
}
