import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeHecEvents, decodeHecRaw, hecAckResponse, hecHealthResponse, hecResponse, hecResponseFor } from './splunk-hec.js';
import { RECEIVED_MS, assertLinesParse, expectRecord, fixture, ns, records } from './compat-test-helpers.js';

const q = (s = '') => new URLSearchParams(s);
const json = (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>;

test('event endpoint: concatenated events, envelope and indexed fields, string and object events', () => {
  const out = decodeHecEvents(fixture('hec-events.json'), q('host=default-host&index=default-idx'));
  assert.deepEqual(out.rejected, []);
  assert.equal(out.lines.length, 4);
  const [a, b, c, d] = records(out.lines);
  expectRecord(a!, {
    timestamp: ns('2026-11-22T10:00:00.500Z'), host: 'web-1', app: null, message: 'user login ok',
    fields: { source: '/var/log/app.log', sourcetype: '_json', index: 'main', env: 'prod', region: '["eu","us"]' },
  }, 'string event');
  // Envelope host outranks the indexed field, which outranks the event's own member: both kept, renamed.
  expectRecord(b!, {
    timestamp: ns('2026-11-22T10:00:01Z', 123_000), host: 'web-2', severity: 3, message: 'db timeout',
    fields: { index: 'default-idx', _host: 'from-fields', latency_ms: '1.50', __host: 'container-a' },
  }, 'object event with msg');
  // No time: the receive time. No message member: the event's JSON text is the message.
  expectRecord(c!, {
    timestamp: BigInt(RECEIVED_MS) * 1_000_000n, host: 'default-host',
    message: '{"action":"purchase","amount":12.30,"user":{"id":42}}',
    fields: { sourcetype: 'shop', index: 'default-idx', action: 'purchase', amount: '12.30', 'user.id': '42' },
  }, 'object event without message');
  expectRecord(d!, {
    timestamp: ns('2026-11-22T10:00:02Z'), host: 'default-host', message: 'plain log line',
    fields: { index: 'k8s', stream: 'stderr', _time: 'inner' },
  }, 'object event with log');
  assert.equal(hecResponseFor(out).status, 200);
  assert.deepEqual(json(hecResponseFor(out).body), { text: 'Success', code: 0 });
});

test('event endpoint: bad events are rejected with their HEC code, the good ones kept; a syntax error ends the body', () => {
  const out = decodeHecEvents(fixture('hec-events-rejects.json'), q());
  assert.deepEqual(out.rejected, [
    { index: 1, reason: 'event_required' },
    { index: 2, reason: 'event_blank' },
    { index: 3, reason: 'invalid_data_format' },
    { index: 4, reason: 'invalid_fields' },
    { index: 6, reason: 'invalid_data_format' },
  ]);
  assert.deepEqual(records(out.lines).map((r) => r.message), ['ok 0', 'ok 5']);
  const resp = hecResponseFor(out);
  assert.equal(resp.status, 400);
  assert.deepEqual(json(resp.body), { text: 'Event field is required', code: 12, 'invalid-event-number': 1 });
});

test('event endpoint: an empty body is "No data"; an over-long event is rejected and the next one kept', () => {
  assert.deepEqual(json(hecResponseFor(decodeHecEvents(Buffer.from(' \n '), q())).body), { text: 'No data', code: 5 });
  const big = JSON.stringify({ event: 'x'.repeat(300) });
  const out = decodeHecEvents(Buffer.from(`${big}{"event":"small"}`), q(), { maxItem: 100 });
  assert.deepEqual(out.rejected, [{ index: 0, reason: 'too_large' }]);
  assert.deepEqual(records(out.lines).map((r) => r.message), ['small']);
  assert.deepEqual(json(hecResponseFor(out).body), { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 });
});

test('event endpoint: time as seconds with a fraction, as text, or as ms, exact to the digit', () => {
  const body = '{"time":1795341600.123456789,"event":"a"}{"time":"1795341600","event":"b"}{"time":1795341600123,"event":"c"}{"time":null,"event":"d"}';
  const rs = records(decodeHecEvents(Buffer.from(body), q()).lines);
  assert.deepEqual(rs.map((r) => r.timestamp), [
    ns('2026-11-22T10:00:00.123Z', 456_789), ns('2026-11-22T10:00:00Z'), ns('2026-11-22T10:00:00.123Z'), BigInt(RECEIVED_MS) * 1_000_000n,
  ]);
});

test('event endpoint: envelope metadata that is not text is kept as a field', () => {
  const out = decodeHecEvents(Buffer.from('{"host":{"name":"n1"},"source":["a","b"],"index":null,"event":"m"}'), q('host=dflt'));
  expectRecord(records(out.lines)[0]!, { host: 'dflt', message: 'm', fields: { '_host.name': 'n1', source: '["a","b"]' } }, 'odd envelope');
});

test('raw endpoint: one event per line, query parameters apply, blank lines skipped', () => {
  const out = decodeHecRaw(fixture('hec-raw.txt'), q('channel=0aa1-22&host=h1&source=s&sourcetype=syslog'));
  assert.deepEqual(out.rejected, []);
  const rs = records(out.lines);
  assert.deepEqual(rs.map((r) => r.message), [
    'Nov 22 10:00:00 web-1 sshd[812]: Accepted publickey for bob',
    'second line with "quotes" and \\ backslash',
    'last line without newline',
  ]);
  for (const r of rs) expectRecord(r, { host: 'h1', timestamp: BigInt(RECEIVED_MS) * 1_000_000n, fields: { source: 's', sourcetype: 'syslog' } }, 'raw');
  const long = decodeHecRaw(Buffer.from(`${'y'.repeat(50)}\nshort\n`), q(), { maxItem: 10 });
  assert.deepEqual(long.rejected, [{ index: 0, reason: 'too_large' }]);
  assert.equal(long.lines.length, 1);
});

test('raw endpoint: ?time= sets every event\'s time (epoch seconds, with a fraction); a time that is not one refuses the request', () => {
  const rs = records(decodeHecRaw(Buffer.from('one\ntwo\n'), q('time=1795341600.25&host=h')).lines);
  assert.equal(rs.length, 2);
  for (const r of rs) expectRecord(r, { host: 'h', timestamp: 1_795_341_600_250_000_000n }, 'raw ?time=');
  // Empty: no time given (receive time).
  expectRecord(records(decodeHecRaw(Buffer.from('x\n'), q('time=')).lines)[0]!, { timestamp: BigInt(RECEIVED_MS) * 1_000_000n }, 'empty time');
  assert.throws(() => decodeHecRaw(Buffer.from('x\n'), q('time=yesterday')), (e: Error & { reason?: string }) => e.reason === 'invalid_data_format');
  // The event endpoint takes its times from the events only.
  const ev = decodeHecEvents(Buffer.from('{"event":"x"}'), q('time=yesterday'));
  assert.equal(ev.lines.length, 1);
});

test('responses: codes, health, acks', () => {
  assert.deepEqual(hecResponse('success'), { status: 200, body: Buffer.from('{"text":"Success","code":0}') });
  assert.deepEqual(json(hecResponse('success', { ackId: 7 }).body), { text: 'Success', code: 0, ackId: 7 });
  assert.equal(hecResponse('server_busy').status, 503);
  assert.deepEqual(hecHealthResponse(true), { status: 200, body: Buffer.from('{"text":"HEC is healthy","code":17}') });
  assert.equal(hecHealthResponse(false).status, 503);
  assert.deepEqual(json(hecAckResponse(Buffer.from('{"acks":[0,3]}')).body), { acks: { 0: true, 3: true } });
  assert.equal(hecAckResponse(Buffer.from('{"acks":"x"}')).status, 400);
  assert.equal(hecAckResponse(Buffer.from('null')).status, 400);
});

test('random bytes and random events never throw, and every line parses', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const b = Buffer.from(bytes);
    assertLinesParse(decodeHecEvents(b, q('host=h')).lines, 'events');
    assertLinesParse(decodeHecRaw(b, q('host=h')).lines, 'raw');
  }), { numRuns: 500 });
  const event = fc.record({
    time: fc.oneof(fc.constant(1795341600.25), fc.constant('1795341600'), fc.jsonValue({ maxDepth: 0 })),
    host: fc.jsonValue({ maxDepth: 1 }),
    event: fc.oneof(fc.string(), fc.dictionary(fc.constantFrom('msg', 'message', 'log', 'host', 'time', 'version', 'short_message', 'x'), fc.jsonValue({ maxDepth: 2 }))),
    fields: fc.dictionary(fc.constantFrom('host', 'index', 'env', 'time'), fc.string()),
  }, { requiredKeys: ['event'] });
  fc.assert(fc.property(fc.array(event, { maxLength: 5 }), (events) => {
    const out = decodeHecEvents(Buffer.from(events.map((e) => JSON.stringify(e)).join('')), q());
    assert.equal(out.lines.length + out.rejected.length, events.length);
    assertLinesParse(out.lines, 'random events');
  }), { numRuns: 300 });
});
