/** Test support for es-bulk.test.ts, splunk-hec.test.ts, body-splitter.test.ts: not a test file itself. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { LogRecord } from '../../record/record.js';
import { recordsOfLines } from './ingest-test-helpers.js';

/** Receive time: 2026-11-22T10:05:00Z, five minutes after the fixtures' events. */
export const RECEIVED_MS = Date.UTC(2026, 10, 22, 10, 5, 0);

const FIXTURES = new URL('../../../../test/fixtures/ingest/', import.meta.url);

export function fixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

/** ns since the epoch of an RFC 3339 time with up to ms, plus extra ns. */
export function ns(iso: string, extraNs = 0): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n + BigInt(extraNs);
}

/** Decoded lines through ringlog's own JSON-lines parser (a `format: json` listener). */
export function records(lines: Buffer[]): LogRecord[] {
  return recordsOfLines(lines, RECEIVED_MS);
}

/** The record's slots and fields, as ingest-test-helpers.ts checks them. */
export { expectRecord, type Expect as Want } from './ingest-test-helpers.js';

/** Every line is one JSON object that ringlog's parser reads without a parse error. */
export function assertLinesParse(lines: Buffer[], what: string): void {
  for (const l of lines) {
    const v = JSON.parse(l.toString('utf8')) as unknown;
    assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${what}: a JSON object`);
  }
  for (const r of records(lines)) assert.equal(r.fields['parse_error'], undefined, `${what}: ${r.message}`);
}
