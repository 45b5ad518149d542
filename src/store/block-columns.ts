/**
 * The row-wise columns of a block in native code (native/block_columns.cc), when the
 * addon is built: the loops of encodeBlock() (block-builder.ts) that visit every row or
 * field entry in the payload's row order, one call each. They write the same bytes as
 * the JavaScript loops there, which stay the definition and the fallback (and what
 * block-columns.test.ts checks the native path against).
 *
 * RINGLOG_NATIVE=off disables them, as it does the addon's other parts.
 */
import { nativeFunction } from '../native/addon.js';

export interface BlockColumnsFns {
  /** perm[0, n) ← rows by app, then host, then arrival (keys: dictionary id + 1, below their range). */
  orderRows(host: Uint32Array, hostRange: number, app: Uint32Array, appRange: number, n: number, perm: Uint32Array): void;
  /**
   * Time deltas, receive ms deltas, receive ns, facility and severity of rows perm[0, n),
   * at out[pos]: the position after them, or -1 when a delta is not a whole number below
   * 2^52 (the JavaScript loops then write them). Needs 23 bytes a row of room.
   */
  encodeRows(out: Uint8Array, pos: number, perm: Uint32Array, n: number, tsMs: Float64Array, tsNs: Uint32Array,
    rcMs: Float64Array, rcNs: Uint32Array, fac: Uint8Array, sev: Uint8Array, minMs: number, minNs: number, unit: number): number;
  /** uvarints of vals[perm[k]], k in [from, to), at out[pos]: the position after them. Needs 5 bytes a value of room. */
  putUvarints(out: Uint8Array, pos: number, vals: Uint32Array, perm: Uint32Array, from: number, to: number): number;
  /**
   * The field columns after their count: per column its name as written (names[nameEnds[k-1],
   * nameEnds[k])), its entry count, row deltas, lengths and bytes; the position after them.
   */
  encodeFields(out: Uint8Array, pos: number, perm: Uint32Array, n: number, fStart: Uint32Array, fCol: Uint32Array,
    fAt: Uint32Array, fLen: Uint32Array, values: Uint8Array, names: Uint8Array, nameEnds: Uint32Array, counts: Uint32Array): number;
}

/** The native functions, or null when the addon is not built (or lacks them) or RINGLOG_NATIVE=off. */
export function nativeBlockColumns(): BlockColumnsFns | null {
  const orderRows = nativeFunction<BlockColumnsFns['orderRows']>('orderRows');
  const encodeRows = nativeFunction<BlockColumnsFns['encodeRows']>('encodeRows');
  const putUvarints = nativeFunction<BlockColumnsFns['putUvarints']>('putUvarints');
  const encodeFields = nativeFunction<BlockColumnsFns['encodeFields']>('encodeFields');
  if (orderRows === null || encodeRows === null || putUvarints === null || encodeFields === null) return null;
  return { orderRows, encodeRows, putUvarints, encodeFields };
}
