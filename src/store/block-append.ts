/**
 * The block builder's append loop over a run of a batch's records, in one native call
 * (native/block_append.cc). BlockBuilder.append() stays the definition: it takes every
 * record the native loop leaves (values with escapes or constants, a field key without
 * a column yet, full arrays to grow, per-record peers), and tests compare the blocks
 * both ways build (block-builder.test.ts).
 *
 * The builder's scalar state travels in a Float64Array (the ST_* slots below): written
 * before the call, read back after it.
 *
 * RINGLOG_NATIVE=off disables the native loop, as it does the addon's other parts.
 */
import { nativeFunction } from '../native/addon.js';

export type AppendRunFn = (
  buf: Uint8Array, timeMs: Float64Array, timeNs: Uint32Array, facility: Uint8Array, severity: Uint8Array,
  spans: Uint32Array, enc: Uint8Array, fieldStart: Uint32Array, fieldKey: Uint32Array, fieldEnc: Uint8Array, fieldSpans: Uint32Array,
  from: number, to: number,
  tsMs: Float64Array, tsNs: Uint32Array, rcMs: Float64Array, rcNs: Uint32Array, fac: Uint8Array, sev: Uint8Array, src: Uint32Array,
  host: Uint32Array, app: Uint32Array, procid: Uint32Array, msgid: Uint32Array,
  msgAt: Uint32Array, msgLen: Uint32Array, msgs: Uint8Array,
  fStart: Uint32Array, fCol: Uint32Array, fAt: Uint32Array, fLen: Uint32Array, values: Uint8Array,
  colMap: Int32Array, colCount: Uint32Array,
  ...rest: (Int32Array | Uint32Array | Uint8Array | Float64Array)[]
) => number;

/** Slots of the state array (native/block_append.cc, enum State). */
export const ST_N = 0;
export const ST_NF = 1;
export const ST_BYTES = 2;
export const ST_MIN_MS = 3;
export const ST_MIN_NS = 4;
export const ST_MAX_MS = 5;
export const ST_MAX_NS = 6;
export const ST_FAC_MASK = 7;
export const ST_SEV_MASK = 8;
export const ST_MAX_LSN = 9;
export const ST_MSGS_USED = 10;
export const ST_VALUES_USED = 11;
export const ST_RECV_MS = 12;
export const ST_RECV_NS = 13;
export const ST_SOURCE = 14;
export const ST_LSN = 15;
export const ST_KEY = 16;
export const ST_LIMIT = 17;
export const ST_MAX_RECORDS = 18;
export const ST_TOKENS_SIZE = 19;
/** 4 slots: the dictionaries' sizes. */
export const ST_DICT_SIZE = 20;
/** 4 slots: the bytes used in the dictionaries' arenas. */
export const ST_DICT_USED = 24;
/** 4 slots: pairPrefix() of each slot's name. */
export const ST_SLOT_PREFIX = 28;
/** Out: 1 when the record at the returned index is left to append(), 0 otherwise. */
export const ST_STATUS = 32;
export const ST_SIZE = 33;

/** The native loop, or null when the addon is not built (or lacks it) or RINGLOG_NATIVE=off. */
export function nativeAppendRun(): AppendRunFn | null {
  return nativeFunction<AppendRunFn>('appendRun');
}
