/** Parses single frames for tests: text or bytes in, LogRecord out. */
import { RecordWriter, type RecordBatch } from '../../record/record-batch.js';
import { recordAt, type LogRecord } from '../../record/record.js';
import type { FrameBatch } from '../../pipeline/batch.js';
import type { FormatName, FrameParser } from './format.js';
import { ParseStage } from './parse-stage.js';

/** Receive time used by parseOne unless given: 2026-11-22T10:00:00.000Z. */
export const RECEIVED_MS = Date.UTC(2026, 10, 22, 10, 0, 0);

export function frameBatchOf(frames: (string | Buffer)[], receivedMs = RECEIVED_MS): FrameBatch {
  const parts = frames.map((f) => (typeof f === 'string' ? Buffer.from(f, 'utf8') : f));
  const buf = Buffer.concat(parts);
  const offsets = new Uint32Array(parts.length * 2);
  let at = 0;
  parts.forEach((p, i) => {
    offsets[2 * i] = at;
    offsets[2 * i + 1] = at + p.length;
    at += p.length;
  });
  return {
    buf, offsets, flags: null, count: parts.length, bytes: buf.length, retained: buf.length,
    received: receivedMs, source: { listener: 'test', transport: 'tcp', peer: '127.0.0.1:1' }, peers: null, hold: null,
  };
}

/** Parses every frame with `parser` (as the parsing loop does, exceptions become internal_error). */
export function parseAll(parser: FrameParser, frames: (string | Buffer)[], receivedMs = RECEIVED_MS, w = new RecordWriter()): LogRecord[] {
  const batch = frameBatchOf(frames, receivedMs);
  w.begin(batch);
  for (let i = 0; i < batch.count; i++) {
    const s = batch.offsets[2 * i]!;
    const e = batch.offsets[2 * i + 1]!;
    try {
      parser(w, i, s, e);
    } catch (err) {
      w.fail(i, s, e, 'internal_error');
      throw err; // in tests a throw is a bug: surface it
    }
    w.next(i);
  }
  const out = w.finish('raw');
  return Array.from({ length: out.count }, (_, i) => recordAt(out, i));
}

export function parseOne(parser: FrameParser, frame: string | Buffer, receivedMs = RECEIVED_MS): LogRecord {
  return parseAll(parser, [frame], receivedMs)[0]!;
}

/** ns timestamp of an ISO/RFC 3339 string with up to ms precision plus extra ns. */
export function ns(iso: string, extraNs = 0): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n + BigInt(extraNs);
}

/** A byte edit for property tests: at `at` (taken modulo the length), set, insert or delete a byte. */
export type ByteEdit = [at: number, byte: number, op: 'set' | 'insert' | 'delete'];

/** `b` with the edits applied in turn (the original is left alone). */
export function applyEdits(b: Buffer, edits: ByteEdit[]): Buffer {
  let bytes = Array.from(b);
  for (const [at, v, op] of edits) {
    const k = bytes.length === 0 ? 0 : at % bytes.length;
    if (op === 'set' && bytes.length > 0) bytes[k] = v;
    else if (op === 'insert') bytes.splice(k, 0, v);
    else if (op === 'delete') bytes = bytes.filter((_, j) => j !== k);
  }
  return Buffer.from(bytes);
}

/**
 * Everything a parsed batch holds, as plain values, for comparing two ways of parsing:
 * the columns, the key dictionary, the records. `ranges` renders the text ranges
 * (default: the spans as they are).
 */
export function batchSnapshot(b: RecordBatch, ranges: (b: RecordBatch) => unknown = (x) => Array.from(x.spans.subarray(0, x.count * 10))): unknown {
  const n = b.count;
  const nf = b.fieldStart[n]!;
  return {
    timeMs: Array.from(b.timeMs.subarray(0, n)), timeNs: Array.from(b.timeNs.subarray(0, n)),
    facility: Array.from(b.facility.subarray(0, n)), severity: Array.from(b.severity.subarray(0, n)),
    ranges: ranges(b), enc: Array.from(b.enc.subarray(0, n * 5)),
    fieldStart: Array.from(b.fieldStart.subarray(0, n + 1)), fieldKey: Array.from(b.fieldKey.subarray(0, nf)),
    fieldSpans: Array.from(b.fieldSpans.subarray(0, nf * 2)), fieldEnc: Array.from(b.fieldEnc.subarray(0, nf)),
    keys: b.keys.strings.slice(0, b.keys.size), parseErrors: b.parseErrors,
    records: Array.from({ length: n }, (_, i) => recordAt(b, i)),
  };
}

/** Parses the batches in turn with one ParseStage: each batch's snapshot (batchSnapshot), then the stage's counts. */
export function stageSnapshots(format: FormatName, batches: Buffer[][], reuse: boolean, receivedMs = RECEIVED_MS, ranges?: (b: RecordBatch) => unknown): unknown[] {
  const stage = new ParseStage(format, reuse);
  const out = batches.map((frames) => batchSnapshot(stage.parse(frameBatchOf(frames, receivedMs)), ranges));
  const c = stage.take();
  out.push({ formats: [...c.formats], errors: [...c.errors].sort(), replaced: c.timestampsReplaced });
  return out;
}
