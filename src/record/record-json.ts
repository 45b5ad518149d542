/**
 * Renders records as JSON text, one object per line (docs/record.md), straight from
 * a RecordBatch's columns into a byte buffer:
 *
 *   {"timestamp":"2026-11-22T10:00:00.123456789Z","received":"2026-11-22T10:00:00.123501000Z",
 *    "host":"web-1","app":"nginx","procid":"812","msgid":"ID47","facility":1,"severity":6,
 *    "message":"GET / 200","fields":{"origin.ip":"10.0.0.1"},
 *    "source":{"transport":"tcp","listener":"tcp","peer":"127.0.0.1:40312"}}
 *
 * Absent values (host … msgid) and an empty `fields` are left out. Byte ranges are
 * escaped as they are copied (json-escape.ts); only values stored with escapes
 * (ENC_JSON, ENC_SD) and constants go through strings. Field names are rendered once
 * per key dictionary, timestamps once per second.
 */
import { maxEscapedLength, writeJsonStringBody } from '../sinks/ndjson/json-escape.js';
import { decodeText, type LogRecord } from './record.js';
import { ENC_UTF8, SLOTS, type RecordBatch } from './record-batch.js';
import type { KeyNames } from './key-dictionary.js';
import { formatTimestamp, splitReceived } from './time.js';

const SLOT_KEYS = [',"host":"', ',"app":"', ',"procid":"', ',"msgid":"'];

export class RecordJsonWriter {
  private out = Buffer.allocUnsafe(1 << 20);
  private o = 0;
  /** `"name":` per key id, per dictionary. */
  private keyCache = new WeakMap<KeyNames, (Buffer | undefined)[]>();
  /** The text of the last whole second rendered, `2026-11-22T10:00:00` and its ms. */
  private secMs = NaN;
  private secText = '';

  /** Renders every record of the batches; returns the bytes (valid until the next call). */
  render(batches: readonly RecordBatch[]): Buffer {
    this.o = 0;
    for (const b of batches) for (let i = 0; i < b.count; i++) this.record(b, i);
    return this.out.subarray(0, this.o);
  }

  private ensure(n: number): void {
    if (this.o + n <= this.out.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + n));
    this.out.copy(next, 0, 0, this.o);
    this.out = next;
  }

  private ascii(s: string): void {
    this.o += this.out.write(s, this.o, 'latin1');
  }

  private time(ms: number, ns: number): void {
    const sec = Math.floor(ms / 1000) * 1000;
    if (sec !== this.secMs) {
      this.secMs = sec;
      const iso = new Date(sec).toISOString(); // 2026-11-22T10:00:00.000Z (or ±YYYYYY-… far out)
      this.secText = iso.slice(0, iso.length - 5);
    }
    const frac = String((ms - sec) * 1_000_000 + ns);
    this.ascii(`"${this.secText}.${'000000000'.slice(frac.length)}${frac}Z"`);
  }

  /** A value: a byte range escaped as it is copied, or decoded first when stored with escapes. */
  private text(b: RecordBatch, start: number, end: number, enc: number): void {
    if (enc === ENC_UTF8) {
      this.o = writeJsonStringBody(this.out, this.o, b.buf, start, end);
    } else {
      const s = JSON.stringify(decodeText(b, start, end, enc));
      this.ensure(s.length * 3);
      this.o += this.out.write(s.slice(1, -1), this.o, 'utf8');
    }
  }

  private keyJson(keys: KeyNames, id: number): Buffer {
    let cache = this.keyCache.get(keys);
    if (!cache) this.keyCache.set(keys, (cache = []));
    return (cache[id] ??= Buffer.from(`${JSON.stringify(keys.strings[id] ?? '')}:"`));
  }

  private record(b: RecordBatch, i: number): void {
    const { spans, enc } = b;
    const f0 = b.fieldStart[i]!;
    const f1 = b.fieldStart[i + 1]!;
    const frameLen = b.offsets[2 * i + 1]! - b.offsets[2 * i]!;
    const peer = b.peers?.[i] ?? b.source.peer;
    // Upper bound of this record's bytes: every byte range lies inside the frame (or is a constant).
    let bound = 512 + maxEscapedLength(frameLen + peer.length + b.source.listener.length);
    for (let f = f0; f < f1; f++) {
      bound += 8 + 6 * (b.keys.strings[b.fieldKey[f]!]?.length ?? 0);
      if (b.fieldEnc[f] !== ENC_UTF8) bound += 6 * (b.fieldSpans[2 * f + 1]! - b.fieldSpans[2 * f]! + 64) + 6 * (b.keys.strings[b.fieldSpans[2 * f]!]?.length ?? 0);
    }
    for (let s = 0; s < SLOTS; s++) if (enc[i * SLOTS + s] !== ENC_UTF8) bound += 6 * (spans[i * 10 + 2 * s + 1]! - spans[i * 10 + 2 * s]!) + 384;
    this.ensure(bound);

    this.ascii('{"timestamp":');
    this.time(b.timeMs[i]!, b.timeNs[i]!);
    this.ascii(',"received":');
    const r = splitReceived(b.received);
    this.time(r.ms, r.ns);
    for (let s = 0; s < 4; s++) {
      const k = i * 10 + 2 * s;
      const e = enc[i * SLOTS + s]!;
      if (spans[k] === spans[k + 1] && e === ENC_UTF8) continue;
      this.ascii(SLOT_KEYS[s]!);
      this.text(b, spans[k]!, spans[k + 1]!, e);
      this.out[this.o++] = 0x22;
    }
    this.ascii(`,"facility":${b.facility[i]},"severity":${b.severity[i]},"message":"`);
    this.text(b, spans[i * 10 + 8]!, spans[i * 10 + 9]!, enc[i * SLOTS + 4]!);
    this.out[this.o++] = 0x22;
    if (f1 > f0) {
      this.ascii(',"fields":{');
      for (let f = f0; f < f1; f++) {
        if (f > f0) this.out[this.o++] = 0x2c;
        this.o += this.keyJson(b.keys, b.fieldKey[f]!).copy(this.out, this.o);
        this.text(b, b.fieldSpans[2 * f]!, b.fieldSpans[2 * f + 1]!, b.fieldEnc[f]!);
        this.out[this.o++] = 0x22;
      }
      this.out[this.o++] = 0x7d;
    }
    this.ascii(`,"source":{"transport":"${b.source.transport}","listener":`);
    this.o += this.out.write(JSON.stringify(b.source.listener), this.o, 'utf8');
    this.ascii(',"peer":');
    this.o += this.out.write(JSON.stringify(peer), this.o, 'utf8');
    this.ascii('}}\n');
  }
}

/** The JSON form of one record object (same shape as RecordJsonWriter's lines, without the newline). */
export function recordToJson(r: LogRecord): string {
  const o: Record<string, unknown> = {
    timestamp: formatNs(r.timestamp),
    received: formatNs(r.received),
  };
  if (r.host !== null) o.host = r.host;
  if (r.app !== null) o.app = r.app;
  if (r.procid !== null) o.procid = r.procid;
  if (r.msgid !== null) o.msgid = r.msgid;
  o.facility = r.facility;
  o.severity = r.severity;
  o.message = r.message;
  if (Object.keys(r.fields).length > 0) o.fields = r.fields;
  o.source = { transport: r.source.transport, listener: r.source.listener, peer: r.source.peer };
  return JSON.stringify(o);
}

/** RFC 3339 UTC text with 9 fraction digits of a ns timestamp. */
export function formatNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  return formatTimestamp(Number(ms), Number(ns - ms * 1_000_000n));
}
