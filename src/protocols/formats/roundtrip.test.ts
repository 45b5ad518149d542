/**
 * Properties of the parse stage as a whole, over every format:
 *  - any bytes become a record, never an exception, with every format setting;
 *  - the JSON form written by the NDJSON output says exactly what recordAt() says;
 *  - rendering a parsed record (RFC 5424) and parsing it again is stable: after one
 *    round trip, parse ∘ render is the identity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseStage } from './parse-stage.js';
import { FORMATS, type FormatName } from './format.js';
import { frameBatchOf } from './test-helpers.js';
import { recordAt, type LogRecord } from '../../record/record.js';
import { RecordJsonWriter } from '../../record/record-json.js';
import { renderRfc5424 } from '../../record/record-syslog.js';
import { formatTimestamp } from '../../record/time.js';

/** Frames that look like what each format expects, with hostile pieces mixed in. */
const word = fc.stringMatching(/^[ -~]{0,12}$/);
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
const syslogish = fc.tuple(fc.integer({ min: -5, max: 200 }), fc.constantFrom('1 ', '', '01 ', '1'), fc.constantFrom(
  '2026-11-22T10:00:00.123456Z', '-', 'Nov 22 10:00:00', 'Feb 29 23:59:60', '2026-13-01T00:00:00Z', '1969-12-31T23:59:59.999999999-23:59',
), word, word, fc.constantFrom('-', '[a b="c"]', '[x@1 k="v\\"]" k2="\\\\"][y]', '[bad', '[a b=c]'), anyText)
  .map(([pri, v, ts, host, app, sd, msg]) => `<${pri}>${v}${ts} ${host} ${app} - - ${sd} ${msg}`);
const jsonish = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));
const jsonObject = fc.dictionary(fc.constantFrom('time', 'ts', 'level', 'msg', 'host', 'app', 'pid', 'a', 'a.b', '_x', 'short_message', 'version'),
  fc.oneof(anyText, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }))).map((o) => JSON.stringify(o));
const logfmtish = fc.array(fc.tuple(fc.stringMatching(/^[a-z_.]{1,6}$/), fc.oneof(word, anyText)), { minLength: 1, maxLength: 5 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${/[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v}`).join(' '));
const frame = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  syslogish.map((s) => Buffer.from(s)),
  jsonish.map((s) => Buffer.from(s)),
  jsonObject.map((s) => Buffer.from(s)),
  logfmtish.map((s) => Buffer.from(s)),
);

function parseWith(format: FormatName, frames: Buffer[]): LogRecord[] {
  const b = new ParseStage(format).parse(frameBatchOf(frames));
  return Array.from({ length: b.count }, (_, i) => recordAt(b, i));
}

test('any bytes parse without throwing, with every format setting, into records within the frame', () => {
  fc.assert(
    fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), (frames) => {
      for (const format of FORMATS) {
        const stage = new ParseStage(format);
        let internal: unknown = null;
        stage.onInternalError = (err) => (internal = err);
        const b = stage.parse(frameBatchOf(frames));
        assert.equal(internal, null, `${format}: a parser threw: ${String(internal)}`);
        for (let i = 0; i < b.count; i++) {
          const r = recordAt(b, i);
          assert.ok(r.severity >= 0 && r.severity <= 7 && r.facility >= 0 && r.facility <= 23, `${format}: ${r.facility}.${r.severity}`);
          assert.ok(r.timestamp >= 0n, `${format}: timestamp ${r.timestamp}`);
        }
        for (let k = 0; k < b.spans.length; k += 2) assert.ok(b.spans[k]! <= b.spans[k + 1]! && b.spans[k + 1]! <= b.buf.length);
      }
    }),
    { numRuns: 400 },
  );
});

test('the JSON form of a record says what recordAt() says', () => {
  const writer = new RecordJsonWriter();
  fc.assert(
    fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), (frames) => {
      const b = new ParseStage('auto').parse(frameBatchOf(frames));
      const lines = writer.render([b]).toString('utf8').split('\n');
      assert.equal(lines.pop(), '');
      assert.equal(lines.length, b.count);
      lines.forEach((line, i) => {
        const r = recordAt(b, i);
        const expected: Record<string, unknown> = {
          timestamp: formatTimestamp(Number(r.timestamp / 1_000_000n), Number(r.timestamp % 1_000_000n)),
          received: formatTimestamp(Number(r.received / 1_000_000n), Number(r.received % 1_000_000n)),
        };
        for (const k of ['host', 'app', 'procid', 'msgid'] as const) if (r[k] !== null) expected[k] = r[k];
        Object.assign(expected, { facility: r.facility, severity: r.severity, message: r.message });
        if (Object.keys(r.fields).length > 0) expected['fields'] = r.fields;
        expected['source'] = r.source;
        assert.deepEqual(JSON.parse(line), expected);
      });
    }),
    { numRuns: 300 },
  );
});

test('render (RFC 5424) then parse is stable: after one round trip the record no longer changes', () => {
  const strip = (r: LogRecord) => ({ ...r, received: 0n, source: null });
  fc.assert(
    fc.property(frame, (f) => {
      const r1 = parseWith('auto', [f])[0]!;
      const r2 = parseWith('auto', [Buffer.from(renderRfc5424(r1))])[0]!;
      const t2 = renderRfc5424(r2);
      const r3 = parseWith('auto', [Buffer.from(t2)])[0]!;
      assert.deepEqual(strip(r3), strip(r2), `${JSON.stringify(f.toString('latin1'))}\n→ ${renderRfc5424(r1)}\n→ ${t2}`);
      assert.equal(r2.fields['parse_error'], undefined, 'a rendered record is valid RFC 5424');
    }),
    { numRuns: 1000 },
  );
});

test('a parsed RFC 5424 record renders back to the text it came from', () => {
  const line = '<165>1 2026-11-22T10:00:00.123456789Z web-1 nginx 812 ID47 [origin@32473 ip="10.0.0.1" note="a \\"b\\" \\\\ \\]"][meta] GET / 200';
  const r = parseWith('rfc5424', [Buffer.from(line)])[0]!;
  assert.equal(renderRfc5424(r), line);
});
