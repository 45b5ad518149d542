/** Test support for the shippers' decoders (loki.test.ts, otlp.test.ts): not a test file itself. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { LogRecord } from '../../record/record.js';
import { parse, recordsOf } from '../../store/test-helpers.js';
import { IngestDecodeError, type DecodedBody } from './types.js';

/** Receive time for the fixtures: 2026-12-02T10:05:00Z, five minutes after their events. */
export const RECEIVED_MS = Date.UTC(2026, 11, 2, 10, 5, 0);
export const RECEIVED_NS = BigInt(RECEIVED_MS) * 1_000_000n;

const FIXTURES = new URL('../../../../test/fixtures/ingest/', import.meta.url);

export function fixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

/** A `.hex` fixture: hex bytes, `#` lines are comments. */
export function hexFixture(name: string): Buffer {
  const text = fixture(name).toString('utf8').split('\n').filter((l) => !l.trimStart().startsWith('#')).join('');
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** The decoded lines through ringlog's own JSON-lines parser, as a listener with `format: json` parses frames. */
export function recordsOfLines(lines: Buffer[], receivedMs = RECEIVED_MS): LogRecord[] {
  return recordsOf(parse('json', lines, { received: receivedMs }));
}

export interface Expect {
  timestamp?: bigint;
  host?: string | null;
  app?: string | null;
  severity?: number;
  message?: string;
  fields?: Record<string, string>;
}

/** Asserts the record's slots; `fields` is compared whole. No record of a decoder's line may carry parse_error. */
export function expectRecord(r: LogRecord, want: Expect, what = ''): void {
  assert.equal(r.fields['parse_error'], undefined, `${what}: the line did not parse: ${r.message}`);
  assert.equal(r.fields['original_timestamp'], undefined, `${what}: the timestamp was taken as absurd`);
  if (want.timestamp !== undefined) assert.equal(r.timestamp, want.timestamp, `${what}: timestamp`);
  if (want.host !== undefined) assert.equal(r.host, want.host, `${what}: host`);
  if (want.app !== undefined) assert.equal(r.app, want.app, `${what}: app`);
  if (want.severity !== undefined) assert.equal(r.severity, want.severity, `${what}: severity`);
  if (want.message !== undefined) assert.equal(r.message, want.message, `${what}: message`);
  if (want.fields !== undefined) assert.deepEqual({ ...r.fields }, want.fields, `${what}: fields`);
}

/** Runs a decoder on hostile input: it must return a DecodedBody or throw IngestDecodeError (not internal_error). */
export function decodesSafely(f: () => DecodedBody): DecodedBody | IngestDecodeError {
  try {
    const out = f();
    for (const l of out.lines) {
      const v = JSON.parse(l.toString('utf8')) as unknown;
      assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), 'every line is a JSON object');
    }
    return out;
  } catch (err) {
    assert.ok(err instanceof IngestDecodeError, `threw ${String(err)}`);
    assert.notEqual(err.reason, 'internal_error', err.message);
    return err;
  }
}

/** The reason of the IngestDecodeError `f` throws. */
export function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof IngestDecodeError, `threw ${String(err)}`);
    return err.reason;
  }
  assert.fail('did not throw');
}

/** ns since the epoch of an RFC 3339 time with ms precision, plus extra ns. */
export function ns(iso: string, extra = 0): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n + BigInt(extra);
}
