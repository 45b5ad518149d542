/**
 * Records on their way from the event loop to the store worker: one message per WAL
 * entry, with no object per record. The text stays in the WAL entry's bytes (`data`,
 * the same buffer that was written to the log, transferred rather than copied), and
 * the parsed columns travel in one ArrayBuffer (`cols`) whose spans point into `data`:
 *
 *   cols:  f64  timeMs[n] recvMs[n]
 *          u32  timeNs[n] recvNs[n] spans[10n] fieldStart[n+1] fieldKey[nf] fieldSpans[2nf] source[n]
 *          u8   facility[n] severity[n] enc[5n] fieldEnc[nf]
 *
 * Field names and constant values (ENC_CONST) are ids into `keys`, sources ids into
 * `sources` (listener, transport, peer triplets), both local to the message, so the
 * worker holds no state across messages.
 */
import { SLOTS } from '../record/record-batch.js';

export interface PackedRecords {
  /** The WAL entry's log sequence number. */
  lsn: number;
  n: number;
  nf: number;
  /** Bytes of frame text the records came from (what "raw" means in the store's figures). */
  rawBytes: number;
  /** The WAL entry (header included); spans are offsets into it. */
  data: ArrayBuffer;
  cols: ArrayBuffer;
  keys: string[];
  /** Triplets: sources[3s] listener, [3s+1] transport, [3s+2] peer. */
  sources: string[];
}

export interface RecordColumnsView {
  timeMs: Float64Array;
  recvMs: Float64Array;
  timeNs: Uint32Array;
  recvNs: Uint32Array;
  spans: Uint32Array;
  fieldStart: Uint32Array;
  fieldKey: Uint32Array;
  fieldSpans: Uint32Array;
  source: Uint32Array;
  facility: Uint8Array;
  severity: Uint8Array;
  enc: Uint8Array;
  fieldEnc: Uint8Array;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Byte size of the cols buffer for n records and nf fields. */
export function colsSize(n: number, nf: number): number {
  const f64 = 16 * n;
  const u32 = 4 * (2 * n + 10 * n + (n + 1) + nf + 2 * nf + n);
  const u8 = 2 * n + SLOTS * n + nf;
  return align8(f64) + align8(u32) + align8(u8);
}

/** Typed-array views of a cols buffer. */
export function viewCols(buf: ArrayBuffer, n: number, nf: number): RecordColumnsView {
  let o = 0;
  const f64 = (len: number) => {
    const a = new Float64Array(buf, o, len);
    o += 8 * len;
    return a;
  };
  const timeMs = f64(n);
  const recvMs = f64(n);
  o = align8(o);
  const u32 = (len: number) => {
    const a = new Uint32Array(buf, o, len);
    o += 4 * len;
    return a;
  };
  const timeNs = u32(n);
  const recvNs = u32(n);
  const spans = u32(10 * n);
  const fieldStart = u32(n + 1);
  const fieldKey = u32(nf);
  const fieldSpans = u32(2 * nf);
  const source = u32(n);
  o = align8(o);
  const u8 = (len: number) => {
    const a = new Uint8Array(buf, o, len);
    o += len;
    return a;
  };
  return {
    timeMs, recvMs, timeNs, recvNs, spans, fieldStart, fieldKey, fieldSpans, source,
    facility: u8(n), severity: u8(n), enc: u8(SLOTS * n), fieldEnc: u8(nf),
  };
}
