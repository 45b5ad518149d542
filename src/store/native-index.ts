/**
 * The block index in native code (native/block_index.cc), when the addon is built: one
 * call per block tokenizes every message and field value, hashes the tokens, keeps the
 * distinct hashes and builds the token filter (fuse or bloom) — the same bytes as
 * tokenizer.ts and fuse-filter.ts / bloom-filter.ts, which stay the definition and the
 * fallback (and what the tests check the native path against). Texts repeated within a block are recognised and indexed once.
 *
 * RINGLOG_NATIVE=off disables it, as it does the native datagram receiver.
 */
import { loadAddon, nativeFunction } from '../native/addon.js';

export type IndexBlockFn = (
  msgs: Uint8Array, msgAt: Uint32Array, msgLen: Uint32Array, n: number,
  values: Uint8Array, fAt: Uint32Array, fLen: Uint32Array, fCol: Uint32Array, nf: number,
  prefixes: Uint32Array, extra: Uint32Array, bitsPerKey: number, maxBlocks: number,
  /** 0: the bloom filter's words; 1: the binary fuse filter as FuseFilter.marshal writes it, or null when none can be made. */
  filter: 0 | 1,
) => Uint8Array | null;

/**
 * The native indexBlock, or null when the addon is not built, RINGLOG_NATIVE=off, or the
 * addon was built before fuse filters (no `indexBlockFuse` mark: its indexBlock would
 * ignore the filter argument and return a bloom filter).
 */
export function nativeIndexBlock(): IndexBlockFn | null {
  if (loadAddon()?.indexBlockFuse !== true) return null;
  return nativeFunction<IndexBlockFn>('indexBlock');
}
