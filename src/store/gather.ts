/**
 * Many byte ranges copied into one place in one call: native/gather.cc when the addon is
 * built, else gatherJs() here (the definition, and what the tests check the native path
 * against). The block builder copies every message and field value twice, into its
 * arenas at append and into the payload at seal; one Buffer.prototype.copy per text
 * makes a typed-array view each time, which costs more than the ~100 bytes it copies.
 *
 * For k in [from, to), i = order ? order[k] : k: src[at[i], at[i] + len[i]) is appended
 * at dst[dstAt + bytes so far]. Returns the bytes copied. Ranges outside src, or more
 * bytes than dst has room for, are a RangeError and nothing is copied.
 *
 * RINGLOG_NATIVE=off disables the native path, as it does the addon's other parts.
 */
import { nativeFunction } from '../native/addon.js';

export type GatherFn = (
  dst: Uint8Array, dstAt: number, src: Uint8Array, at: Uint32Array, len: Uint32Array,
  order: Uint32Array | null, from: number, to: number,
) => number;

/** The native gather, or null when the addon is not built (or lacks it) or RINGLOG_NATIVE=off. */
export function nativeGather(): GatherFn | null {
  return nativeFunction<GatherFn>('gather');
}

export const gatherJs: GatherFn = (dst, dstAt, src, at, len, order, from, to) => {
  const limit = order === null ? Math.min(at.length, len.length) : order.length;
  if (!(dstAt >= 0 && dstAt <= dst.length && from >= 0 && from <= to && to <= limit)) throw new RangeError('gather: dstAt, from or to out of range');
  let total = 0;
  for (let k = from; k < to; k++) {
    const i = order === null ? k : order[k]!;
    if (i >= at.length || i >= len.length || at[i]! + len[i]! > src.length) throw new RangeError('gather: a range is outside src');
    total += len[i]!;
  }
  if (total > dst.length - dstAt) throw new RangeError('gather: dst is too short');
  let p = dstAt;
  for (let k = from; k < to; k++) {
    const i = order === null ? k : order[k]!;
    const s = at[i]!;
    const n = len[i]!;
    if (n < 48) for (let j = 0; j < n; j++) dst[p + j] = src[s + j]!;
    else dst.set(src.subarray(s, s + n), p);
    p += n;
  }
  return total;
};
