/** Test support shared by the syslog parser tests (rfc5424, rfc3164, syslog): not a test file itself. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ENC_CONST, RecordWriter, SLOTS, type RecordBatch } from '../../record/record-batch.js';
import { decodeText, type LogRecord } from '../../record/record.js';
import { PARSE_ERROR_REASONS, type FrameParser } from './format.js';
import { RECEIVED_MS, frameBatchOf, parseAll, parseOne } from './test-helpers.js';

export interface Want {
  timestamp?: bigint;
  host?: string | null;
  app?: string | null;
  procid?: string | null;
  msgid?: string | null;
  facility?: number;
  severity?: number;
  message?: string;
  fields?: Record<string, string>;
}

/** Every field of the record against `want`, where anything unsaid is the default of a bare record. */
export function expectRecord(r: LogRecord, want: Want, received = RECEIVED_MS): void {
  const expected = {
    timestamp: BigInt(received) * 1_000_000n, host: null, app: null, procid: null, msgid: null,
    facility: 1, severity: 5, message: '', fields: {}, ...want,
  };
  const got = {
    timestamp: r.timestamp, host: r.host, app: r.app, procid: r.procid, msgid: r.msgid,
    facility: r.facility, severity: r.severity, message: r.message, fields: r.fields,
  };
  assert.deepEqual(got, expected);
  assert.equal(r.received, BigInt(received) * 1_000_000n);
}

export function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export function parseBatch(parser: FrameParser, frames: (string | Buffer)[]): RecordBatch {
  const batch = frameBatchOf(frames);
  const w = new RecordWriter();
  w.begin(batch);
  for (let i = 0; i < batch.count; i++) {
    parser(w, i, batch.offsets[2 * i]!, batch.offsets[2 * i + 1]!);
    w.next(i);
  }
  return w.finish('raw');
}

/** Bytes syslog parsers care about, so that random frames reach deep into the grammar. */
const SYSLOG_BYTES = Buffer.from('<>0123456789 -:.TtZz+[]"\\=@%*aNovMar\r\n\0\t\xef\xbb\xbf', 'latin1');

/**
 * Properties every parser of this folder must have, checked on random frames (arbitrary
 * bytes, and syslog-flavoured bytes after each of `prefixes`): it does not throw; each
 * text range lies within its own frame; parse_error reasons are known ones; and a frame
 * parses the same alone as between arbitrary neighbours (nothing reads past its end).
 */
/**
 * What every parser must do with any frames: ranges inside their frame (or constants),
 * sane columns, known parse_error reasons, and a frame parses the same alone and in a batch.
 */
export function assertSane(parser: FrameParser, frames: Buffer[]): void {
  const batch = parseBatch(parser, frames);
  for (let i = 0; i < batch.count; i++) {
    const s = batch.offsets[2 * i]!;
    const e = batch.offsets[2 * i + 1]!;
    const inFrame = (a: number, b: number, enc: number): void => {
      if (enc === ENC_CONST || (a === 0 && b === 0)) return;
      assert.ok(s <= a && a <= b && b <= e, `range [${a}, ${b}) outside frame [${s}, ${e})`);
    };
    for (let k = 0; k < SLOTS; k++) inFrame(batch.spans[i * 10 + 2 * k]!, batch.spans[i * 10 + 2 * k + 1]!, batch.enc[i * SLOTS + k]!);
    for (let f = batch.fieldStart[i]!; f < batch.fieldStart[i + 1]!; f++) inFrame(batch.fieldSpans[2 * f]!, batch.fieldSpans[2 * f + 1]!, batch.fieldEnc[f]!);
    assert.ok(batch.timeNs[i]! < 1_000_000 && Number.isInteger(batch.timeMs[i]!));
    assert.ok(batch.facility[i]! <= 23 && batch.severity[i]! <= 7);
  }
  const all = parseAll(parser, frames);
  frames.forEach((f, i) => {
    const alone = parseOne(parser, f);
    assert.deepEqual(all[i], alone);
    const reason = alone.fields['parse_error'];
    if (reason !== undefined) assert.ok((PARSE_ERROR_REASONS as readonly string[]).includes(reason), reason);
  });
}

/** Every field of a record of `batch` in order, duplicates included (recordAt keeps the last of a name). */
export function fieldList(batch: RecordBatch, i: number): [string, string][] {
  const out: [string, string][] = [];
  for (let f = batch.fieldStart[i]!; f < batch.fieldStart[i + 1]!; f++) {
    out.push([batch.keys.strings[batch.fieldKey[f]!]!, decodeText(batch, batch.fieldSpans[2 * f]!, batch.fieldSpans[2 * f + 1]!, batch.fieldEnc[f]!)]);
  }
  return out;
}

export function checkTotal(parser: FrameParser, prefixes: string[]): void {
  const frame = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.constantFrom(...prefixes), fc.array(fc.constantFrom(...SYSLOG_BYTES), { maxLength: 120 })).map(
      ([p, b]) => Buffer.concat([Buffer.from(p, 'latin1'), Buffer.from(b)]),
    ),
  );
  fc.assert(
    fc.property(fc.array(frame, { minLength: 1, maxLength: 4 }), (frames) => {
      assertSane(parser, frames);
    }),
    { numRuns: 3000 },
  );
}

/** ns timestamp of a local (process time zone) civil time, m 1..12, plus ms and extra ns. */
export function local(y: number, m: number, d: number, h: number, mi: number, s: number, ms = 0, extraNs = 0): bigint {
  return BigInt(new Date(y, m - 1, d, h, mi, s, ms).getTime()) * 1_000_000n + BigInt(extraNs);
}
