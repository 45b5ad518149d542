/**
 * logfmt (logfmt.ts, with well-known-keys.ts and text-values.ts) against docs/record.md
 * ("logfmt", and the auto listener's detection).
 *
 * Times in the tables are on 2026-11-22 around 09:30Z, half an hour before RECEIVED_MS
 * (10:00Z), so that a time that was not read (the receive time) never passes for one
 * that was.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ENC_CONST, ENC_JSON, ENC_UTF8 } from '../../record/record-batch.js';
import { PARSE_ERROR_REASONS } from './format.js';
import { parseAuto } from './index.js';
import { looksLikeLogfmt, parseLogfmt } from './logfmt.js';
import { assertSane, checkTotal, expectRecord, fieldList, parseBatch, type Want } from './syslog-test-helpers.js';
import { ns, parseAll, parseOne } from './test-helpers.js';

const T930 = ns('2026-11-22T09:30:00Z');

function looks(line: string | Buffer): boolean {
  const b = typeof line === 'string' ? Buffer.from(line) : line;
  return looksLikeLogfmt(b, 0, b.length);
}

const VALID: [string, string, Want][] = [
  // pairs
  ['pairs', 'a=1 b=two c=3.5', { fields: { a: '1', b: 'two', c: '3.5' } }],
  ['quoted values', 'a="x y" b="" c="="', { fields: { a: 'x y', b: '', c: '=' } }],
  ['quoted values with escapes', 'a="say \\"hi\\"" b="C:\\\\dir" c="tab\\there" d="caf\\u00e9 \\ud83d\\ude00" e="\\/"', { fields: { a: 'say "hi"', b: 'C:\\dir', c: 'tab\there', d: 'café 😀', e: '/' } }],
  ['a quoted value with a JSON-invalid escape is kept as written', 'a="C:\\dir\\x" b=1', { fields: { a: 'C:\\dir\\x', b: '1' } }],
  ['valid and invalid escapes together: kept as written, \\" still does not end it', 'a="\\"q\\" \\d" b=1', { fields: { a: '\\"q\\" \\d', b: '1' } }],
  ['a bad \\u escape is kept as written', 'a="\\u12G4" b=1', { fields: { a: '\\u12G4', b: '1' } }],
  ['a raw tab inside quotes is kept', 'a="x\ty" b=1', { fields: { a: 'x\ty', b: '1' } }],
  ['an empty value', 'a= b=1', { fields: { a: '', b: '1' } }],
  ['an empty value at the end', 'a=1 b=', { fields: { a: '1', b: '' } }],
  ['a bare key is true', 'debug a=1 verbose', { fields: { debug: 'true', a: '1', verbose: 'true' } }],
  ['a value holding = and "', 'a=b=c d=x"y', { fields: { a: 'b=c', d: 'x"y' } }],
  ['a value holding a backslash', 'path=C:\\tmp\\x a=1', { fields: { path: 'C:\\tmp\\x', a: '1' } }],
  ['tabs and runs of spaces separate', '  a=1 \t b=2\t\tc=3  ', { fields: { a: '1', b: '2', c: '3' } }],
  ['trailing CR LF NUL', 'a=1 b=2\r\n\0', { fields: { a: '1', b: '2' } }],
  ['an unterminated quote takes the rest of the line', 'a=1 msg="the rest of the line', { message: 'the rest of the line', fields: { a: '1' } }],
  ['an unterminated quote ending in an escaped quote', 'msg="x\\"', { message: 'x"' }],
  ['keys with dots, dashes, slashes, @ and digits', 'http.status=200 x-request-id=abc a/b=1 user@host=2 k8s_ns=default', { fields: { 'http.status': '200', 'x-request-id': 'abc', 'a/b': '1', 'user@host': '2', k8s_ns: 'default' } }],
  ['UTF-8 keys and values', 'ünï=cødé msg="héllo ✓"', { message: 'héllo ✓', fields: { 'ünï': 'cødé' } }],
  ['a stray quoted token is skipped', '"stray text" a=1', { fields: { a: '1' } }],
  ['a stray =value is skipped', '=v a=1 ="q"', { fields: { a: '1' } }],
  ['a key right after a closing quote', 'a="x"y b=1', { fields: { a: 'x', y: 'true', b: '1' } }],
  // record keys
  ['ts', 'ts=2026-11-22T09:30:00.123456789Z a=1', { timestamp: ns('2026-11-22T09:30:00.123Z', 456789), fields: { a: '1' } }],
  ['time, quoted, with a space and an offset', 'time="2026-11-22 10:30:00+01:00" a=1', { timestamp: T930, fields: { a: '1' } }],
  ['time as epoch seconds with a fraction', 'time=1795339800.5 a=1', { timestamp: ns('2026-11-22T09:30:00.500Z'), fields: { a: '1' } }],
  ['timestamp as epoch ms', 'timestamp=1795339800123 a=1', { timestamp: ns('2026-11-22T09:30:00.123Z'), fields: { a: '1' } }],
  ['@timestamp and date', '@timestamp=2026-11-22T09:30:00Z date=2026-11-22T09:00:00Z', { timestamp: T930, fields: { date: '2026-11-22T09:00:00Z' } }],
  ['time wins over ts', 'ts=2026-11-22T09:00:00Z time=2026-11-22T09:30:00Z', { timestamp: T930, fields: { ts: '2026-11-22T09:00:00Z' } }],
  ['an unusable time falls through and stays a field', 'time=soon ts=2026-11-22T09:30:00Z', { timestamp: T930, fields: { time: 'soon' } }],
  ['an unusable time stays a field', 'time=2026-13-01T00:00:00Z a=1', { fields: { time: '2026-13-01T00:00:00Z', a: '1' } }],
  ['a time with JSON escapes is read unescaped', 'time="2026-11-22T10:30:00\\u002B01:00" a=1', { timestamp: T930, fields: { a: '1' } }],
  ['a bare time key stays a field', 'time a=1', { fields: { time: 'true', a: '1' } }],
  ['level name', 'level=info a=1', { severity: 6, fields: { a: '1' } }],
  ['level in upper case', 'level=WARN a=1', { severity: 4, fields: { a: '1' } }],
  ['level quoted', 'level="error" a=1', { severity: 3, fields: { a: '1' } }],
  ['lvl (log15 abbreviations)', 'lvl=eror a=1', { severity: 3, fields: { a: '1' } }],
  ['lvl dbug', 'lvl=dbug a=1', { severity: 7, fields: { a: '1' } }],
  ['severity', 'severity=crit a=1', { severity: 2, fields: { a: '1' } }],
  ['a numeric level (syslog)', 'level=3 a=1', { severity: 3, fields: { a: '1' } }],
  ['a numeric level (pino)', 'level=40 a=1', { severity: 4, fields: { a: '1' } }],
  ['an unknown level stays a field', 'level=chatty a=1', { fields: { level: 'chatty', a: '1' } }],
  ['an unknown level falls through to lvl', 'level=chatty lvl=debug', { severity: 7, fields: { level: 'chatty' } }],
  ['a bare level stays a field', 'level a=1', { fields: { level: 'true', a: '1' } }],
  ['msg', 'msg=hello a=1', { message: 'hello', fields: { a: '1' } }],
  ['msg quoted with escapes', 'msg="say \\"hi\\"\\tnow" a=1', { message: 'say "hi"\tnow', fields: { a: '1' } }],
  ['msg: a trailing \\n escape is dropped', 'msg="line\\n" a=1', { message: 'line', fields: { a: '1' } }],
  ['message and log', 'log=l message=m', { message: 'm', fields: { log: 'l' } }],
  ['msg wins', 'message=m msg=x', { message: 'x', fields: { message: 'm' } }],
  ['an empty msg', 'msg= a=1', { fields: { a: '1' } }],
  ['a bare msg stays a field', 'msg a=1', { fields: { msg: 'true', a: '1' } }],
  ['host and hostname', 'hostname=b host=a', { host: 'a', fields: { hostname: 'b' } }],
  ['hostname', 'hostname=web-1 a=1', { host: 'web-1', fields: { a: '1' } }],
  ['app, service, logger', 'logger=l service=s app=a', { app: 'a', fields: { logger: 'l', service: 's' } }],
  ['service', 'service=billing a=1', { app: 'billing', fields: { a: '1' } }],
  ['logger', 'logger=sqlstore a=1', { app: 'sqlstore', fields: { a: '1' } }],
  ['a service value starting with a digit is not an app (a duration)', 'service=2ms logger=router', { app: 'router', fields: { service: '2ms' } }],
  ['pid and msgid', 'pid=812 msgid=ID47', { procid: '812', msgid: 'ID47' }],
  [
    'every record key at once',
    'ts=2026-11-22T09:30:00Z level=warn msg="disk low" host=db-1 app=pg pid=812 msgid=DL1 free=5%',
    { timestamp: T930, severity: 4, message: 'disk low', host: 'db-1', app: 'pg', procid: '812', msgid: 'DL1', fields: { free: '5%' } },
  ],
  ['role keys are case-sensitive', 'MSG=x Level=error a=1', { fields: { MSG: 'x', Level: 'error', a: '1' } }],
  // real-world lines
  [
    'Heroku router',
    'at=info method=GET path="/" host=x fwd="1.2.3.4" dyno=web.1 connect=1ms service=2ms status=200 bytes=3',
    { host: 'x', fields: { at: 'info', method: 'GET', path: '/', fwd: '1.2.3.4', dyno: 'web.1', connect: '1ms', service: '2ms', status: '200', bytes: '3' } },
  ],
  [
    'Heroku router error with request_id and protocol',
    'at=error code=H12 desc="Request timeout" method=GET path="/api/items?page=2" host=myapp.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="204.204.204.204" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https',
    {
      host: 'myapp.herokuapp.com',
      fields: {
        at: 'error', code: 'H12', desc: 'Request timeout', method: 'GET', path: '/api/items?page=2', request_id: '8601b555-6a83-4c12-8269-97c8e32cdb22',
        fwd: '204.204.204.204', dyno: 'web.1', connect: '0ms', service: '30000ms', status: '503', bytes: '0', protocol: 'https',
      },
    },
  ],
  [
    'Grafana/Prometheus style',
    'ts=2026-11-22T10:00:00.123Z caller=main.go:10 level=info msg="Starting"',
    { timestamp: ns('2026-11-22T10:00:00.123Z'), severity: 6, message: 'Starting', fields: { caller: 'main.go:10' } },
  ],
  [
    'Prometheus server start',
    'ts=2026-11-22T09:30:00.123Z caller=main.go:585 level=info msg="Starting Prometheus Server" mode=server version="(version=2.53.0, branch=HEAD, revision=1a2b3c)"',
    { timestamp: ns('2026-11-22T09:30:00.123Z'), severity: 6, message: 'Starting Prometheus Server', fields: { caller: 'main.go:585', mode: 'server', version: '(version=2.53.0, branch=HEAD, revision=1a2b3c)' } },
  ],
  [
    'Grafana (logger is the app; t is not a time key)',
    'logger=settings t=2026-11-22T09:30:00.12+00:00 level=info msg="Starting Grafana" version=11.0.0',
    { severity: 6, app: 'settings', message: 'Starting Grafana', fields: { t: '2026-11-22T09:30:00.12+00:00', version: '11.0.0' } },
  ],
  [
    'logrus TextFormatter',
    'time="2026-11-22T10:30:00+01:00" level=warning msg="The group\'s number increased tremendously!" number=122 omg=true',
    { timestamp: T930, severity: 4, message: "The group's number increased tremendously!", fields: { number: '122', omg: 'true' } },
  ],
  [
    'Go slog TextHandler',
    'time=2026-11-22T10:30:00.123+01:00 level=INFO msg="hello world" count=3 user.name=alice',
    { timestamp: ns('2026-11-22T09:30:00.123Z'), severity: 6, message: 'hello world', fields: { count: '3', 'user.name': 'alice' } },
  ],
  [
    'go-kit log',
    'ts=2026-11-22T09:30:00.123456Z caller=server.go:42 level=error err="dial tcp 10.0.0.1:5432: connect: connection refused"',
    { timestamp: ns('2026-11-22T09:30:00.123Z', 456000), severity: 3, fields: { caller: 'server.go:42', err: 'dial tcp 10.0.0.1:5432: connect: connection refused' } },
  ],
];

/** Frames a logfmt listener keeps raw, with this parse_error. */
const INVALID: [string, string][] = [
  ['', 'empty'],
  ['   ', 'empty'],
  [' \t\r\n', 'empty'],
  ['\0', 'empty'],
  ['hello', 'invalid_logfmt'],
  ['hello world', 'invalid_logfmt'],
  ['just some words, no pairs at all.', 'invalid_logfmt'],
  ['"a quoted string"', 'invalid_logfmt'],
  ['"a=1 b=2"', 'invalid_logfmt'],
  ['=value', 'invalid_logfmt'],
  ['= = =', 'invalid_logfmt'],
  ['flag\r\n', 'invalid_logfmt'],
  ['{"msg":"json"}', 'invalid_logfmt'],
];

/** looksLikeLogfmt: is the line clearly logfmt (auto listener)? */
const DETECT: [string, boolean][] = [
  // clearly logfmt
  ['a=1 b=2', true],
  ['level=info msg="hello world"', true],
  ['at=info method=GET path="/" host=x fwd="1.2.3.4" dyno=web.1 connect=1ms service=2ms status=200 bytes=3', true],
  ['ts=2026-11-22T10:00:00.123Z caller=main.go:10 level=info msg="Starting"', true],
  ['a="x" b=y', true],
  ['a="say \\"hi\\"" b=y', true],
  ['a= b=', true],
  ['a=1\tb=2', true],
  ['  a=1 b=2', true],
  ['a=1 b=2\r\n', true],
  ['_a=1 b.c-d=2', true],
  ['a=b=c d=e', true],
  ['a=1 msg="unterminated', true],
  ['A1=x Z_=y', true],
  // not clearly logfmt: prose, a single pair, bare words, odd keys
  ['a=1', false],
  ['msg="hello world"', false],
  ['', false],
  ['   ', false],
  ['hello', false],
  ['user=bob logged in port=22', false],
  ['a=b is what we saw', false],
  ['The value x=5 was too large', false],
  ['Connection from 1.2.3.4 port=22', false],
  ['GET /x?a=1&b=2 HTTP/1.1', false],
  ['x = 1 y = 2', false],
  ['a=1 b=2 and more', false],
  ['a=1 debug', false],
  ['debug a=1 b=2', false],
  ['1a=1 b=2', false],
  ['-a=1 b=2', false],
  ['.a=1 b=2', false],
  ['a:b=1 c=2', false],
  ['a/b=1 c=2', false],
  ['a="x"y b=1', false],
  ['ünï=1 b=2', false],
  ['"a"=1 b=2', false],
  ['=1 b=2', false],
  ['{"a":1,"b":2}', false],
  ['<13>a=1 b=2', false],
  ['2026-11-22 a=1 b=2', false],
  ['[INFO] a=1 b=2', false],
  ['a=1, and b=2', false],
];

describe('parseLogfmt', () => {
  for (const [name, line, want] of VALID) {
    it(name, () => expectRecord(parseOne(parseLogfmt, line), want));
  }

  for (const [line, reason] of INVALID) {
    it(`fails ${reason}: ${JSON.stringify(line)}`, () => {
      expectRecord(parseOne(parseLogfmt, line), { message: line.replace(/[\r\n\0]+$/, ''), fields: { parse_error: reason } });
      assert.ok((PARSE_ERROR_REASONS as readonly string[]).includes(reason));
    });
  }

  it('duplicate keys: the last one counts, the earlier ones stay fields (nothing is lost)', () => {
    expectRecord(parseOne(parseLogfmt, 'msg=a msg=b'), { message: 'b', fields: { msg: 'a' } });
    expectRecord(parseOne(parseLogfmt, 'level=error level=info'), { severity: 6, fields: { level: 'error' } });
    const batch = parseBatch(parseLogfmt, ['a=1 b=2 a=3', 'x a=1 x']);
    assert.deepEqual(fieldList(batch, 0), [['a', '1'], ['b', '2'], ['a', '3']]);
    assert.deepEqual(fieldList(batch, 1), [['x', 'true'], ['a', '1'], ['x', 'true']]);
  });

  it('invalid UTF-8 is kept and decodes to U+FFFD', () => {
    const line = Buffer.concat([Buffer.from('a=x'), Buffer.from([0xff]), Buffer.from(' msg="'), Buffer.from([0xc3]), Buffer.from('\\n" k'), Buffer.from([0xfe]), Buffer.from('=1')]);
    expectRecord(parseOne(parseLogfmt, line), { message: '\uFFFD', fields: { a: 'x\uFFFD', 'k\uFFFD': '1' } });
  });

  it('stores quoted values with valid escapes as ENC_JSON, others as ENC_UTF8, as ranges of the frame', () => {
    const line = 'a=plain b="quoted" c="es\\"c" d="bad\\q" e flag2=';
    const batch = parseBatch(parseLogfmt, [line]);
    assert.deepEqual(Array.from(batch.fieldEnc), [ENC_UTF8, ENC_UTF8, ENC_JSON, ENC_UTF8, ENC_CONST, ENC_UTF8]);
    const at = (f: number): string => batch.buf.toString('utf8', batch.fieldSpans[2 * f], batch.fieldSpans[2 * f + 1]);
    assert.deepEqual([at(0), at(1), at(2), at(3), at(5)], ['plain', 'quoted', 'es\\"c', 'bad\\q', '']);
  });

  it('keeps the records of a batch apart', () => {
    const rs = parseAll(parseLogfmt, ['a=1 msg=one\n', 'no pairs here\n', 'level=error b=2\n', '\n']);
    expectRecord(rs[0]!, { message: 'one', fields: { a: '1' } });
    expectRecord(rs[1]!, { message: 'no pairs here', fields: { parse_error: 'invalid_logfmt' } });
    expectRecord(rs[2]!, { severity: 3, fields: { b: '2' } });
    expectRecord(rs[3]!, { fields: { parse_error: 'empty' } });
  });

  it('reuses key ids across records', () => {
    const batch = parseBatch(parseLogfmt, ['status=200 a=1', 'status=500']);
    assert.equal(batch.fieldKey[0], batch.fieldKey[2]);
    assert.equal(batch.keys.strings[batch.fieldKey[0]!], 'status');
  });
});

describe('looksLikeLogfmt (auto listener)', () => {
  for (const [line, want] of DETECT) {
    it(`${want ? 'logfmt' : 'not logfmt'}: ${JSON.stringify(line)}`, () => assert.equal(looks(line), want));
  }

  it('reads only [start, end)', () => {
    const b = Buffer.from('xx a=1 b=2 c');
    assert.equal(looksLikeLogfmt(b, 3, 10), true);
    assert.equal(looksLikeLogfmt(b, 3, 12), false); // the bare `c`
    assert.equal(looksLikeLogfmt(b, 0, 10), false);
    const q = Buffer.from('a=1 b="x y" z');
    assert.equal(looksLikeLogfmt(q, 0, 11), true);
    assert.equal(looksLikeLogfmt(q, 0, 9), true); // `b="x ` unterminated within the range
  });

  it('the auto listener parses clear logfmt as logfmt and anything else as raw text', () => {
    expectRecord(parseOne(parseAuto, 'level=warn msg="disk low" free=5%'), { severity: 4, message: 'disk low', fields: { free: '5%' } });
    expectRecord(parseOne(parseAuto, ' \ta=1 b=2'), { fields: { a: '1', b: '2' } });
    for (const [line, logfmt] of DETECT) {
      if (logfmt || line.trim() === '' || line.startsWith('<') || line.startsWith('{')) continue;
      expectRecord(parseOne(parseAuto, line), { message: line });
    }
  });
});

// ---- properties ---------------------------------------------------------------------


const LOGFMT_TOKENS = [
  'a', 'b', 'key', '_k', 'x.y', '=', '"', '\\', '\\"', '\\\\', '\\n', '\\u00e9', '\\u', '\\q', ' ', ' ', '\t', '\r', '\n', '\0', '1', '2ms',
  'é', '\xff', 'msg', 'level', 'ts', 'time', 'host', 'app', 'service', 'pid', '=info', '=error', '=30', '="', '=2026-11-22T09:30:00Z', '=1795339800.5',
  'a=1', ' b=2', 'msg="x y"', 'level=warn',
];
const logfmtTokens = fc.array(fc.constantFrom(...LOGFMT_TOKENS), { maxLength: 40 }).map((ts) => ts.join(''));
const logfmtFrame = fc.oneof(
  logfmtTokens.map((s) => Buffer.from(s, 'latin1')),
  logfmtTokens.map((s) => Buffer.from(s)),
  fc.tuple(logfmtTokens, fc.uint8Array({ maxLength: 8 })).map(([s, b]) => Buffer.concat([Buffer.from(s), Buffer.from(b)])),
);

/** Keys looksLikeLogfmt accepts, without a record role. */
const ROLE_KEYS = new Set(['time', 'timestamp', 'ts', 'date', 'level', 'severity', 'lvl', 'msg', 'message', 'log', 'host', 'hostname', 'app', 'service', 'logger', 'pid', 'msgid', 'version', 'short_message']);
const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/).filter((k) => !ROLE_KEYS.has(k) && k !== '__proto__');
const value = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.stringMatching(/^[!-~]{1,12}$/),
  fc.constantFrom('', 'x y', 'say "hi"', 'C:\\dir', 'a=b', '\n', 'tab\there', '"', '\\', 'ünï'),
);
/** A value as a logfmt writer renders it: bare when it can be, else JSON-quoted. */
function render(v: string): string {
  return v !== '' && /^[^ \t\r\n"\0]+$/.test(v) ? v : JSON.stringify(v);
}

describe('parseLogfmt: properties (fast-check)', () => {
  it('never throws and keeps every range inside the frame, whatever the bytes', () => {
    checkTotal(parseLogfmt, ['', 'a=', 'a="', 'msg="', 'level=', 'ts=', 'a=1 b="x\\', '"', '=']);
  });

  it('never throws on logfmt-like token soup, and parses alone as in a batch', () => {
    fc.assert(
      fc.property(fc.array(logfmtFrame, { minLength: 1, maxLength: 4 }), (frames) => {
        assertSane(parseLogfmt, frames);
        assertSane(parseAuto, frames);
      }),
      { numRuns: 3000 },
    );
  });

  it('looksLikeLogfmt reads only its range, and what it takes parses without error', () => {
    fc.assert(
      fc.property(logfmtFrame, fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (f, before, after) => {
        const alone = looksLikeLogfmt(f, 0, f.length);
        const b = Buffer.concat([Buffer.from(before), f, Buffer.from(after)]);
        assert.equal(looksLikeLogfmt(b, before.length, before.length + f.length), alone);
        if (alone) assert.equal(parseOne(parseLogfmt, f).fields['parse_error'], undefined, f.toString('latin1'));
      }),
      { numRuns: 5000 },
    );
  });

  it('round trip: rendered pairs parse back to the same fields, and two or more are clearly logfmt', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, minLength: 1, maxLength: 8 }), fc.constantFrom(' ', '  ', '\t'), fc.constantFrom('', '\n', '\r\n'),
        (pairs, sep, end) => {
          const line = pairs.map(([k, v]) => `${k}=${render(v)}`).join(sep) + end;
          expectRecord(parseOne(parseLogfmt, line), { fields: Object.fromEntries(pairs) });
          assert.equal(looks(line), pairs.length >= 2, line);
          if (pairs.length >= 2) expectRecord(parseOne(parseAuto, line), { fields: Object.fromEntries(pairs) });
        }),
      { numRuns: 3000 },
    );
  });

  it('round trip with the record keys', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.constantFrom(['debug', 7], ['info', 6], ['WARN', 4], ['error', 3], ['30', 6]),
        value, fc.stringMatching(/^[a-z][a-z0-9.-]{0,15}$/), fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.nat(), fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 4 }),
        (t, [level, sev], msg, host, app, pid, pairs) => {
          const line = [`ts=${new Date(t).toISOString()}`, `level=${level}`, `msg=${render(msg)}`, `host=${host}`, `app=${app}`, `pid=${pid}`, ...pairs.map(([k, v]) => `${k}=${render(v)}`)].join(' ');
          expectRecord(parseOne(parseLogfmt, line), {
            timestamp: BigInt(t) * 1_000_000n, severity: sev as number, message: msg.replace(/[\r\n]+$/, ''), host, app, procid: String(pid), fields: Object.fromEntries(pairs),
          });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
