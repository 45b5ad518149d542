/**
 * One record as an object, for code off the hot path (tests, the tail hub, query
 * results): built from a RecordBatch on demand. See docs/record.md.
 */
import type { Source } from '../pipeline/batch.js';
import { APP, ENC_CONST, ENC_JSON, ENC_SD, HOST, MESSAGE, MSGID, PROCID, SLOTS, type RecordBatch } from './record-batch.js';
import { splitReceived, toNs } from './time.js';

export interface LogRecord {
  /** Event time, ns since the epoch: from the message, else the receive time. */
  timestamp: bigint;
  /** Receive time, ns since the epoch. */
  received: bigint;
  host: string | null;
  app: string | null;
  procid: string | null;
  msgid: string | null;
  /** 0–23 (RFC 5424 §6.2.1). */
  facility: number;
  /** 0 emerg … 7 debug. */
  severity: number;
  message: string;
  /** Flat string map: RFC 5424 SD as `sdid.param`, JSON keys flattened with dots. */
  fields: Record<string, string>;
  source: Source;
}

/** Text of a byte range given its encoding (ENC_*). */
export function decodeText(batch: RecordBatch, start: number, end: number, enc: number): string {
  switch (enc) {
    case ENC_CONST:
      return batch.keys.strings[start] ?? '';
    case ENC_JSON:
      return unescapeJson(batch.buf.toString('utf8', start, end));
    case ENC_SD:
      return unescapeSd(batch.buf.toString('utf8', start, end));
    default:
      return batch.buf.toString('utf8', start, end);
  }
}

/** The inside of a JSON string literal → its value. Parsers validated the escapes; stay total anyway. */
export function unescapeJson(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** RFC 5424 §6.3.3: inside PARAM-VALUE, `\"`, `\\` and `\]` stand for the second character; any other backslash is literal. */
export function unescapeSd(raw: string): string {
  return raw.replace(/\\(["\\\]])/g, '$1');
}

/** Text of slot HOST…MESSAGE of record i, or null when absent. */
export function slotText(batch: RecordBatch, i: number, slot: number): string | null {
  const k = i * 10 + slot * 2;
  const start = batch.spans[k]!;
  const end = batch.spans[k + 1]!;
  const enc = batch.enc[i * SLOTS + slot]!;
  if (start === end && enc !== ENC_CONST) return null;
  return decodeText(batch, start, end, enc);
}

/**
 * Sets fields[key] as an own property. Plain assignment to `__proto__` sets the
 * prototype instead (a string: nothing happens), so a JSON or logfmt key `__proto__`
 * would vanish from the record while its value is stored and searchable.
 */
export function setField(fields: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
  else fields[key] = value;
}

export function fieldsOf(batch: RecordBatch, i: number): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let f = batch.fieldStart[i]!; f < batch.fieldStart[i + 1]!; f++) {
    const key = batch.keys.strings[batch.fieldKey[f]!]!;
    setField(fields, key, decodeText(batch, batch.fieldSpans[2 * f]!, batch.fieldSpans[2 * f + 1]!, batch.fieldEnc[f]!));
  }
  return fields;
}

export function recordAt(batch: RecordBatch, i: number): LogRecord {
  const r = splitReceived(batch.received);
  return {
    timestamp: toNs(batch.timeMs[i]!, batch.timeNs[i]!),
    received: toNs(r.ms, r.ns),
    host: slotText(batch, i, HOST),
    app: slotText(batch, i, APP),
    procid: slotText(batch, i, PROCID),
    msgid: slotText(batch, i, MSGID),
    facility: batch.facility[i]!,
    severity: batch.severity[i]!,
    message: slotText(batch, i, MESSAGE) ?? '',
    fields: fieldsOf(batch, i),
    source: { ...batch.source, peer: batch.peers?.[i] ?? batch.source.peer },
  };
}
