import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { NdjsonOutput } from './ndjson-output.js';
import { writeJsonStringBody, maxEscapedLength } from './json-escape.js';
import { Metrics } from '../../metrics/metrics.js';
import { Logger } from '../../log.js';
import type { FrameBatch } from '../../pipeline/batch.js';
import { ParseStage } from '../../protocols/formats/parse-stage.js';
import type { RecordBatch } from '../../record/record-batch.js';
import { tempDirs } from '../../test-dirs.js';

const tempDir = tempDirs('ringlog-ndjson-');

const raw = new ParseStage('raw');

test('JSON string body equals JSON.stringify of the UTF-8 decoding, for any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const src = Buffer.from(bytes);
      const dst = Buffer.alloc(maxEscapedLength(src.length));
      const n = writeJsonStringBody(dst, 0, src, 0, src.length);
      const parsed = JSON.parse(`"${dst.toString('utf8', 0, n)}"`);
      assert.equal(parsed, src.toString('utf8'));
    }),
    { numRuns: 2000 },
  );
});

test('ASCII with quotes, backslashes and control bytes stays on the fast path and is exact', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200, max: 0x7f }), (bytes) => {
      const src = Buffer.from(bytes);
      const dst = Buffer.alloc(maxEscapedLength(src.length));
      const n = writeJsonStringBody(dst, 0, src, 0, src.length);
      assert.equal(dst.toString('utf8', 0, n), JSON.stringify(src.toString('latin1')).slice(1, -1));
    }),
    { numRuns: 2000 },
  );
});

test('records are appended as NDJSON in the record form, with source, message and the truncated field', async () => {
  const dir = tempDir();
  const path = join(dir, 'out.ndjson');
  writeFileSync(path, '{"earlier":true}\n');
  const out = new NdjsonOutput(path, 50, new Metrics({ processMetrics: false }), new Logger('error', 'logfmt', () => {}));
  await out.open();
  const buf = Buffer.from('plain "quoted" \\ back\ttab\x00nul \xff\xfe bad utf8 é');
  const batch = raw.parse({
    buf, offsets: Uint32Array.of(0, 5, 0, buf.length), flags: Uint8Array.of(0, 1), count: 2, bytes: 5 + buf.length, retained: buf.length + 16,
    received: Date.UTC(2026, 10, 22, 10, 0, 0, 123) + 0.456, source: { listener: 'tcp', transport: 'tcp', peer: '[::1]:4000' }, peers: null, hold: null,
  });
  await out.write([batch]);
  await out.close();
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.deepEqual(JSON.parse(lines[0]!), { earlier: true });
  const a = JSON.parse(lines[1]!);
  assert.deepEqual(a, {
    timestamp: '2026-11-22T10:00:00.123456000Z', received: '2026-11-22T10:00:00.123456000Z', facility: 1, severity: 5, message: 'plain',
    source: { transport: 'tcp', listener: 'tcp', peer: '[::1]:4000' },
  });
  const b = JSON.parse(lines[2]!);
  assert.equal(b.message, buf.toString('utf8'));
  assert.deepEqual(b.fields, { truncated: 'true' });
});

function textBatch(...lines: string[]): RecordBatch {
  const buf = Buffer.from(lines.join('\n'));
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at, at + Buffer.byteLength(l));
    at += Buffer.byteLength(l) + 1;
  }
  const batch: FrameBatch = {
    buf, offsets: Uint32Array.from(offsets), flags: null, count: lines.length, bytes: buf.length, retained: buf.length,
    received: Date.now(), source: { listener: 'udp', transport: 'udp', peer: '' }, peers: lines.map((_, i) => `10.0.0.${i}:514`), hold: null,
  };
  return raw.parse(batch);
}

test('a partial last line left by a crash is ended before new records are appended', async () => {
  const dir = tempDir();
  const path = join(dir, 'out.ndjson');
  writeFileSync(path, '{"message":"whole"}\n{"message":"cut sh');
  const logged: string[] = [];
  const out = new NdjsonOutput(path, 50, new Metrics({ processMetrics: false }), new Logger('warn', 'logfmt', (l) => logged.push(l)));
  await out.open();
  await out.write([textBatch('after the crash')]);
  await out.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines[1], '{"message":"cut sh');
  assert.equal(JSON.parse(lines[2]!).message, 'after the crash');
  assert.equal(JSON.parse(lines[2]!).source.peer, '10.0.0.0:514');
  assert.match(logged.join(''), /partial line/);
});

test('reopen() after the file was moved away writes to a new file at the path', async () => {
  const dir = tempDir();
  const path = join(dir, 'out.ndjson');
  const out = new NdjsonOutput(path, 50, new Metrics({ processMetrics: false }), new Logger('error', 'logfmt', () => {}));
  await out.open();
  await out.write([textBatch('one', 'two')]);
  renameSync(path, `${path}.1`);
  await out.write([textBatch('three')]); // still into the moved file until reopened
  await out.reopen();
  await out.write([textBatch('four')]);
  await out.close();
  const rotated = readFileSync(`${path}.1`, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).message);
  const fresh = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).message);
  assert.deepEqual(rotated, ['one', 'two', 'three']);
  assert.deepEqual(fresh, ['four']);
});
