/**
 * JSON lines and GELF (JSON payload): json.ts, json-scanner.ts, well-known-keys.ts,
 * text-values.ts, against docs/record.md ("JSON lines", "GELF", "Never throw, never lose").
 *
 * Times in the tables are on 2026-11-22 around 09:30Z, half an hour before RECEIVED_MS
 * (10:00Z), so that a time that was not read (the receive time) never passes for one
 * that was.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ENC_JSON, ENC_UTF8, MESSAGE } from '../../record/record-batch.js';
import { PARSE_ERROR_REASONS, type FrameParser } from './format.js';
import { parseAuto } from './index.js';
import { MAX_NESTING } from './json-scanner.js';
import { MAX_FLATTEN, parseGelf, parseJson } from './json.js';
import { parseLevelText, parseTimeText, parsedTime } from './text-values.js';
import { trimEscapedLineEnds } from './well-known-keys.js';
import { assertSane, checkTotal, expectRecord, fieldList, pad2, parseBatch, type Want } from './syslog-test-helpers.js';
import { RECEIVED_MS, ns, parseAll, parseOne } from './test-helpers.js';

/** 2026-11-22T09:30:00Z in seconds since the epoch. */
const S = 1795339800;
const T930 = ns('2026-11-22T09:30:00Z');

/** The raw record a frame that does not parse becomes. */
function expectFailure(parser: FrameParser, frame: string | Buffer, reason: string): void {
  const r = parseOne(parser, frame);
  const text = typeof frame === 'string' ? frame : frame.toString('utf8');
  expectRecord(r, { message: text.replace(/[\r\n\0]+$/, ''), fields: { parse_error: reason } });
  assert.ok((PARSE_ERROR_REASONS as readonly string[]).includes(reason));
}

function show(frame: string): string {
  return JSON.stringify(frame.length > 70 ? frame.slice(0, 70) + '…' : frame);
}

// ---- time ------------------------------------------------------------------------

/** [what, JSON value, expected timestamp] */
const TIME_VALUES: [string, string, bigint][] = [
  ['RFC 3339, Z', '"2026-11-22T09:30:00Z"', T930],
  ['RFC 3339, ms', '"2026-11-22T09:30:00.123Z"', ns('2026-11-22T09:30:00.123Z')],
  ['RFC 3339, µs and +01:00', '"2026-11-22T10:30:00.123456+01:00"', ns('2026-11-22T09:30:00.123Z', 456000)],
  ['RFC 3339, ns and -05:00', '"2026-11-22T04:30:00.123456789-05:00"', ns('2026-11-22T09:30:00.123Z', 456789)],
  ['RFC 3339, -00:00', '"2026-11-22T09:30:00-00:00"', T930],
  ['RFC 3339, offset crossing the day', '"2026-11-23T01:30:00+16:00"', T930],
  ['space instead of T, no offset (UTC)', '"2026-11-22 09:30:00"', T930],
  ['space, fraction, no offset', '"2026-11-22 09:30:00.5"', ns('2026-11-22T09:30:00.500Z')],
  ['T, no offset (UTC)', '"2026-11-22T09:30:00.25"', ns('2026-11-22T09:30:00.250Z')],
  ['lower-case t and z', '"2026-11-22t09:30:00z"', T930],
  ['offset without colon', '"2026-11-22T15:00:00+0530"', T930],
  ['offset in hours only', '"2026-11-22T11:30:00+02"', T930],
  ['comma before the fraction', '"2026-11-22T09:30:00,25Z"', ns('2026-11-22T09:30:00.250Z')],
  ['more than 9 fraction digits: cut at the ns', '"2026-11-22T09:30:00.1234567891Z"', ns('2026-11-22T09:30:00.123Z', 456789)],
  ['leap second 60 is the next minute', '"2026-11-22T09:29:60Z"', T930],
  ['Feb 29 of a leap year', '"2028-02-29T00:00:00Z"', ns('2028-02-29T00:00:00Z')],
  ['epoch s, number', String(S), T930],
  ['epoch s with ns fraction, number', `${S}.123456789`, ns('2026-11-22T09:30:00.123Z', 456789)],
  ['epoch s with 7 fraction digits (zap)', `${S}.1234567`, ns('2026-11-22T09:30:00.123Z', 456700)],
  ['epoch s, text', `"${S}"`, T930],
  ['epoch s with fraction, text', `"${S}.5"`, ns('2026-11-22T09:30:00.500Z')],
  ['epoch s with an exponent', '1.7953398e9', T930],
  ['epoch s with an exponent and a fraction', '17953398001234e-4', ns('2026-11-22T09:30:00.123Z', 400000)],
  ['epoch ms, number', `${S}123`, ns('2026-11-22T09:30:00.123Z')],
  ['epoch ms with fraction, number', `${S}123.456789`, ns('2026-11-22T09:30:00.123Z', 456789)],
  ['epoch ms, text', `"${S}123"`, ns('2026-11-22T09:30:00.123Z')],
  ['epoch µs, number', `${S}123456`, ns('2026-11-22T09:30:00.123Z', 456000)],
  ['epoch µs with fraction, number', `${S}123456.789`, ns('2026-11-22T09:30:00.123Z', 456789)],
  ['epoch µs, text', `"${S}123456"`, ns('2026-11-22T09:30:00.123Z', 456000)],
  ['epoch ns, number beyond 2^53, exact', `${S}123456789`, ns('2026-11-22T09:30:00.123Z', 456789)],
  ['epoch ns, text', `"${S}123456789"`, ns('2026-11-22T09:30:00.123Z', 456789)],
  ['epoch ns with an exponent', '1.795339800123456789E18', ns('2026-11-22T09:30:00.123Z', 456789)],
  ['epoch with leading zeros (text)', `"000${S}"`, T930],
  ['epoch 0', '0', 0n],
  ['epoch 0.0', '0.0', 0n],
  // the unit follows from the magnitude: < 1e11 s, < 1e14 ms, < 1e17 µs, else ns
  ['99999999999 is seconds', '99999999999', 99_999_999_999n * 1_000_000_000n],
  ['100000000000 is ms', '100000000000', 100_000_000_000n * 1_000_000n],
  ['99999999999999 is ms', '99999999999999', 99_999_999_999_999n * 1_000_000n],
  ['100000000000000 is µs', '100000000000000', 100_000_000_000_000n * 1000n],
  ['99999999999999999 is µs', '99999999999999999', 99_999_999_999_999_999n * 1000n],
  ['100000000000000000 is ns', '100000000000000000', 100_000_000_000_000_000n],
  ['1e11 with an exponent is ms', '1e11', 100_000_000_000n * 1_000_000n],
];

const TIME_KEYS = ['time', 'timestamp', 'ts', '@timestamp', 'date'];

/** Time values that cannot be used: they stay a field under their key. */
const BAD_TIMES: [string, string, string][] = [
  ['not a time', '"yesterday"', 'yesterday'],
  ['empty text', '""', ''],
  ['date only', '"2026-11-22"', '2026-11-22'],
  ['no seconds', '"2026-11-22T09:30Z"', '2026-11-22T09:30Z'],
  ['month 13', '"2026-13-01T00:00:00Z"', '2026-13-01T00:00:00Z'],
  ['Nov 31', '"2026-11-31T00:00:00Z"', '2026-11-31T00:00:00Z'],
  ['Feb 29 of a common year', '"2026-02-29T00:00:00Z"', '2026-02-29T00:00:00Z'],
  ['hour 24', '"2026-11-22T24:00:00Z"', '2026-11-22T24:00:00Z'],
  ['minute 60', '"2026-11-22T09:60:00Z"', '2026-11-22T09:60:00Z'],
  ['a dot without digits', '"2026-11-22T09:30:00.Z"', '2026-11-22T09:30:00.Z'],
  ['offset hour 24', '"2026-11-22T09:30:00+24:00"', '2026-11-22T09:30:00+24:00'],
  ['offset minute 60', '"2026-11-22T09:30:00+01:60"', '2026-11-22T09:30:00+01:60'],
  ['cut offset', '"2026-11-22T09:30:00+01:"', '2026-11-22T09:30:00+01:'],
  ['text after the zone', '"2026-11-22T09:30:00Zx"', '2026-11-22T09:30:00Zx'],
  ['RFC 2822', '"Sun, 22 Nov 2026 09:30:00 +0000"', 'Sun, 22 Nov 2026 09:30:00 +0000'],
  ['negative epoch', '-5', '-5'],
  ['negative epoch text', '"-5"', '-5'],
  ['epoch with spaces', `" ${S}"`, ` ${S}`],
  ['epoch text with a trailing dot', `"${S}."`, `${S}.`],
  ['epoch with a unit', `"${S}s"`, `${S}s`],
  ['epoch beyond 1e20', '123456789012345678901', '123456789012345678901'],
  ['huge exponent', '1e400', '1e400'],
  ['true', 'true', 'true'],
  ['null', 'null', 'null'],
  ['an array', '[1,2]', '[1,2]'],
];

// ---- levels ----------------------------------------------------------------------

/** Level names of docs/record.md with their severity. */
const LEVEL_NAMES: [string, number][] = [
  ['emerg', 0], ['emergency', 0], ['panic', 0], ['alert', 1], ['crit', 2], ['critical', 2], ['fatal', 2],
  ['err', 3], ['error', 3], ['eror', 3], ['warn', 4], ['warning', 4], ['notice', 5], ['info', 6], ['information', 6],
  ['informational', 6], ['debug', 7], ['dbug', 7], ['trace', 7], ['verbose', 7],
];

/** [JSON level value, severity] */
const LEVEL_NUMBERS: [string, number][] = [
  ['0', 0], ['1', 1], ['2', 2], ['3', 3], ['4', 4], ['5', 5], ['6', 6], ['7', 7],
  // pino and bunyan
  ['10', 7], ['20', 7], ['30', 6], ['40', 4], ['50', 3], ['60', 2],
  // numeric text, and numbers written otherwise
  ['"3"', 3], ['"30"', 6], ['"50"', 3], ['30.0', 6], ['3e1', 6], ['5E1', 3],
  // pino custom levels in between take the level below them
  ['35', 6], ['45', 4], ['100', 2],
];

const BAD_LEVELS: [string, string][] = [
  ['"bogus"', 'bogus'], ['""', ''], ['"info "', 'info '], ['" info"', ' info'], ['"inf"', 'inf'], ['"informationally"', 'informationally'],
  ['8', '8'], ['9', '9'], ['-1', '-1'], ['"-3"', '-3'], ['1.5', '1.5'], ['"3.5"', '3.5'], ['"0x1e"', '0x1e'], ['1e400', '1e400'],
  ['99999999999999999999', '99999999999999999999'], ['true', 'true'], ['null', 'null'], ['[6]', '[6]'],
];

// ---- the other well-known keys and everything else ----------------------------------

const VALID: [string, string, Want][] = [
  // message
  ['msg', '{"msg":"hello world"}', { message: 'hello world' }],
  ['message', '{"message":"hello world"}', { message: 'hello world' }],
  ['log', '{"log":"hello world"}', { message: 'hello world' }],
  ['msg wins over message and log', '{"log":"l","message":"m","msg":"x"}', { message: 'x', fields: { log: 'l', message: 'm' } }],
  ['message wins over log', '{"log":"l","message":"m"}', { message: 'm', fields: { log: 'l' } }],
  ['message: a number as its JSON text', '{"msg":42.50}', { message: '42.50' }],
  ['message: true', '{"msg":true}', { message: 'true' }],
  ['message: null', '{"msg":null}', { message: 'null' }],
  ['message: an array as its JSON text', '{"msg":[1, "two"]}', { message: '[1, "two"]' }],
  ['message: an object as its JSON text', '{"msg":{"a":1,"b":[2]}}', { message: '{"a":1,"b":[2]}' }],
  ['message: an empty object', '{"message":{}}', { message: '{}' }],
  ['message: empty text', '{"msg":""}', {}],
  ['message: escapes decoded', '{"msg":"a\\nb\\t\\"c\\" \\\\ \\/ \\b\\f\\r."}', { message: 'a\nb\t"c" \\ / \b\f\r.' }],
  ['message: \\u escapes and a surrogate pair', '{"msg":"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\u0041"}', { message: 'café € 😀 A' }],
  ['message: raw UTF-8', '{"msg":"héllo wörld ✓ 😀"}', { message: 'héllo wörld ✓ 😀' }],
  ['message: a trailing \\n escape is dropped (Docker json-file)', '{"log":"line\\n"}', { message: 'line' }],
  ['message: trailing \\r\\n escapes are dropped', '{"msg":"line\\r\\n\\n"}', { message: 'line' }],
  ['message: inner newlines are kept', '{"msg":"a\\nb\\n"}', { message: 'a\nb' }],
  ['message: an escaped backslash before n is not a newline', '{"msg":"C:\\\\n"}', { message: 'C:\\n' }],
  ['message: \\\\ then \\n', '{"msg":"x\\\\\\n"}', { message: 'x\\' }],
  ['message: only \\n', '{"msg":"\\n"}', {}],
  ['message: other values trailing newlines stay', '{"msg":"m","note":"x\\n"}', { message: 'm', fields: { note: 'x\n' } }],
  ['log as an object stays fields (ECS log.level, log.logger)', '{"log":{"level":"info","logger":"app"},"message":"hi"}', { message: 'hi', fields: { 'log.level': 'info', 'log.logger': 'app' } }],
  ['log as an object, no other message', '{"log":{"file":{"path":"/x"}}}', { fields: { 'log.file.path': '/x' } }],
  ['log as an empty object stays a field', '{"log":{}}', { fields: { log: '{}' } }],
  ['log as an array is the message', '{"log":["a","b"]}', { message: '["a","b"]' }],
  // host
  ['host', '{"host":"web-1"}', { host: 'web-1' }],
  ['hostname', '{"hostname":"web-1"}', { host: 'web-1' }],
  ['host wins over hostname', '{"hostname":"b","host":"a"}', { host: 'a', fields: { hostname: 'b' } }],
  ['host: a number', '{"host":42}', { host: '42' }],
  ['host: escaped', '{"host":"w\\u0065b"}', { host: 'web' }],
  ['host: empty text is absent', '{"host":""}', {}],
  ['host: an object is flattened (ECS host.name)', '{"host":{"name":"web-1","ip":["10.0.0.1"]}}', { fields: { 'host.name': 'web-1', 'host.ip': '["10.0.0.1"]' } }],
  ['host: an object falls through to hostname', '{"host":{"name":"x"},"hostname":"y"}', { host: 'y', fields: { 'host.name': 'x' } }],
  ['host: null stays a field', '{"host":null}', { fields: { host: 'null' } }],
  ['host: false stays a field', '{"host":false}', { fields: { host: 'false' } }],
  // app
  ['app', '{"app":"billing"}', { app: 'billing' }],
  ['service', '{"service":"billing"}', { app: 'billing' }],
  ['logger', '{"logger":"com.example.Billing"}', { app: 'com.example.Billing' }],
  ['app wins over service and logger', '{"logger":"l","service":"s","app":"a"}', { app: 'a', fields: { logger: 'l', service: 's' } }],
  ['service wins over logger', '{"logger":"l","service":"s"}', { app: 's', fields: { logger: 'l' } }],
  ['service: an object is flattened (ECS service.name)', '{"service":{"name":"billing"}}', { fields: { 'service.name': 'billing' } }],
  ['app: an array stays a field', '{"app":["a"]}', { fields: { app: '["a"]' } }],
  // procid, msgid
  ['pid: a number', '{"pid":4242}', { procid: '4242' }],
  ['pid: text', '{"pid":"4242"}', { procid: '4242' }],
  ['pid: a huge number, as written', '{"pid":123456789012345678901234567890}', { procid: '123456789012345678901234567890' }],
  ['pid: null stays a field', '{"pid":null}', { fields: { pid: 'null' } }],
  ['msgid', '{"msgid":"ID47"}', { msgid: 'ID47' }],
  ['msgid: a number', '{"msgid":47}', { msgid: '47' }],
  // fields
  ['other keys are fields', '{"user":"bob","n":42,"f":-1.5e3,"t":true,"no":false,"z":null}', { fields: { user: 'bob', n: '42', f: '-1.5e3', t: 'true', no: 'false', z: 'null' } }],
  ['keys are case-sensitive', '{"MSG":"x","Level":"error","Time":"2026-11-22T09:30:00Z","HOSTNAME":"h"}', { fields: { MSG: 'x', Level: 'error', Time: '2026-11-22T09:30:00Z', HOSTNAME: 'h' } }],
  ['numbers as written', '{"a":0,"b":-0,"c":1E+2,"d":1.50,"e":1e-7}', { fields: { a: '0', b: '-0', c: '1E+2', d: '1.50', e: '1e-7' } }],
  ['huge numbers as written', `{"big":${'9'.repeat(400)},"exp":1e400,"neg":-1e-400}`, { fields: { big: '9'.repeat(400), exp: '1e400', neg: '-1e-400' } }],
  ['arrays as their JSON text', '{"a":[1,2],"b":[],"c":[{"x":1},[true,null]],"d":[ 1 , 2 ]}', { fields: { a: '[1,2]', b: '[]', c: '[{"x":1},[true,null]]', d: '[ 1 , 2 ]' } }],
  ['nested objects flattened with dots', '{"req":{"id":7,"method":"GET","headers":{"ua":"curl"}},"ok":true}', { fields: { 'req.id': '7', 'req.method': 'GET', 'req.headers.ua': 'curl', ok: 'true' } }],
  ['an empty nested object is its text', '{"a":{},"b":{ },"c":{"d":{}}}', { fields: { a: '{}', b: '{ }', 'c.d': '{}' } }],
  ['nested role names are plain fields', '{"a":{"msg":"x","time":"2026-11-22T09:30:00Z","level":"error"}}', { fields: { 'a.msg': 'x', 'a.time': '2026-11-22T09:30:00Z', 'a.level': 'error' } }],
  ['whitespace everywhere', ' \t{ "msg" : "x" ,\n"a" :\r{ "b" : [ 1 ] } } \t', { message: 'x', fields: { 'a.b': '[ 1 ]' } }],
  ['an empty key', '{"":"v","a":{"":1}}', { fields: { '': 'v', 'a.': '1' } }],
  ['escapes in keys', '{"k\\"e\\\\y\\u00e9\\n":"v","a":{"b\\tc":1}}', { fields: { 'k"e\\yé\n': 'v', 'a.b\tc': '1' } }],
  ['an escaped role key still has its role', '{"m\\u0073g":"hi","\\u006cevel":"error"}', { message: 'hi', severity: 3 }],
  ['a surrogate pair in a key', '{"\\ud83d\\ude00":"smile"}', { fields: { '😀': 'smile' } }],
  ['escapes in values', '{"a":"x\\"y","b":"\\u00e9t\\u00e9","c":"tab\\there","d":"\\/"}', { fields: { a: 'x"y', b: 'été', c: 'tab\there', d: '/' } }],
  ['escapes in nested values', '{"a":{"b":"1\\n2"}}', { fields: { 'a.b': '1\n2' } }],
  ['_ keys are fields as they are outside GELF', '{"msg":"m","_user":"bob"}', { message: 'm', fields: { _user: 'bob' } }],
  ['short_message without version is a field', '{"short_message":"x","level":3}', { severity: 3, fields: { short_message: 'x' } }],
  ['version without short_message is a field', '{"version":"1.1","msg":"m"}', { message: 'm', fields: { version: '1.1' } }],
  ['an empty object', '{}', {}],
  ['an empty object with spaces', '  { }  ', {}],
  ['a UTF-8 BOM before the object', '\uFEFF{"msg":"bom"}', { message: 'bom' }],
  ['trailing CR LF NUL', '{"msg":"x"}\r\n\0', { message: 'x' }],
  ['U+2028 inside a string', '{"msg":"a\u2028b"}', { message: 'a\u2028b' }],
  ['\\u0000 inside a string', '{"msg":"nul\\u0000x"}', { message: 'nul\u0000x' }],
  // all together
  [
    'every record key at once',
    '{"time":"2026-11-22T09:30:00.5Z","level":"warn","msg":"disk low","host":"db-1","app":"pg","pid":812,"msgid":"DL1","disk":{"free":"5%"}}',
    { timestamp: ns('2026-11-22T09:30:00.500Z'), severity: 4, message: 'disk low', host: 'db-1', app: 'pg', procid: '812', msgid: 'DL1', fields: { 'disk.free': '5%' } },
  ],
  // real-world lines
  [
    'pino',
    '{"level":30,"time":1700000000000,"pid":123,"hostname":"h","msg":"hi"}',
    { timestamp: 1_700_000_000_000n * 1_000_000n, severity: 6, procid: '123', host: 'h', message: 'hi' },
  ],
  [
    'pino with a child logger and an error',
    '{"level":50,"time":1795339800123,"pid":7,"hostname":"api-1","reqId":"r-1","err":{"type":"Error","message":"boom","stack":"Error: boom\\n    at x (/app/x.js:1:1)"},"msg":"request failed"}',
    {
      timestamp: ns('2026-11-22T09:30:00.123Z'), severity: 3, procid: '7', host: 'api-1', message: 'request failed',
      fields: { reqId: 'r-1', 'err.type': 'Error', 'err.message': 'boom', 'err.stack': 'Error: boom\n    at x (/app/x.js:1:1)' },
    },
  ],
  [
    'bunyan',
    '{"name":"app","hostname":"h","pid":1,"level":50,"msg":"x","time":"2026-11-22T10:00:00.000Z","v":0}',
    { timestamp: ns('2026-11-22T10:00:00.000Z'), host: 'h', procid: '1', severity: 3, message: 'x', fields: { name: 'app', v: '0' } },
  ],
  [
    'bunyan with a src and a trace level',
    '{"name":"svc","hostname":"h","pid":2,"level":10,"msg":"tick","time":"2026-11-22T09:30:00.001Z","src":{"file":"/a.js","line":3},"v":0}',
    { timestamp: ns('2026-11-22T09:30:00.001Z'), host: 'h', procid: '2', severity: 7, message: 'tick', fields: { name: 'svc', 'src.file': '/a.js', 'src.line': '3', v: '0' } },
  ],
  [
    'Docker json-file',
    '{"log":"GET /healthz 200 0.4ms\\n","stream":"stderr","time":"2026-11-22T09:30:00.123456789Z"}\n',
    { timestamp: ns('2026-11-22T09:30:00.123Z', 456789), message: 'GET /healthz 200 0.4ms', fields: { stream: 'stderr' } },
  ],
  [
    'Kubernetes controller (zap, production config)',
    '{"level":"info","ts":1795339800.1234567,"logger":"controller-runtime.metrics","caller":"metrics/listener.go:44","msg":"Metrics server is starting to listen","addr":":8080"}',
    {
      timestamp: ns('2026-11-22T09:30:00.123Z', 456700), severity: 6, app: 'controller-runtime.metrics', message: 'Metrics server is starting to listen',
      fields: { caller: 'metrics/listener.go:44', addr: ':8080' },
    },
  ],
  [
    'Kubernetes component JSON (klog) with a nested object',
    '{"ts":1795339800.04728,"caller":"json/json_test.go:63","msg":"Pod status updated","pod":{"name":"nginx-1","namespace":"default"},"status":"ready","v":4}',
    {
      timestamp: ns('2026-11-22T09:30:00.047Z', 280000), message: 'Pod status updated',
      fields: { caller: 'json/json_test.go:63', 'pod.name': 'nginx-1', 'pod.namespace': 'default', status: 'ready', v: '4' },
    },
  ],
  [
    'upper-case level, offset without colon; L and T are not keys',
    '{"L":"INFO","T":"2026-11-22T09:30:00.000Z","level":"WARN","ts":"2026-11-22T09:30:00.000+0000","msg":"slow"}',
    { timestamp: T930, severity: 4, message: 'slow', fields: { L: 'INFO', T: '2026-11-22T09:30:00.000Z' } },
  ],
  [
    'logstash-logback-encoder',
    '{"@timestamp":"2026-11-22T10:30:00.123+01:00","@version":"1","message":"Started Application in 2.1 seconds","logger_name":"com.example.App","thread_name":"main","level":"INFO","level_value":20000}',
    {
      timestamp: ns('2026-11-22T09:30:00.123Z'), severity: 6, message: 'Started Application in 2.1 seconds',
      fields: { '@version': '1', logger_name: 'com.example.App', thread_name: 'main', level_value: '20000' },
    },
  ],
  [
    'Python structlog (`event` is not a message key: a field)',
    '{"event":"user logged in","user":"alice","level":"info","timestamp":"2026-11-22T09:30:00.000001Z","logger":"auth"}',
    { timestamp: ns('2026-11-22T09:30:00.000Z', 1000), severity: 6, app: 'auth', fields: { event: 'user logged in', user: 'alice' } },
  ],
  [
    'Go slog JSONHandler',
    '{"time":"2026-11-22T10:30:00.123456789+01:00","level":"ERROR","msg":"query failed","err":"timeout","db":{"host":"pg-1","port":5432}}',
    { timestamp: ns('2026-11-22T09:30:00.123Z', 456789), severity: 3, message: 'query failed', fields: { err: 'timeout', 'db.host': 'pg-1', 'db.port': '5432' } },
  ],
];

/** Frames that become raw records with this parse_error. */
const INVALID: [string, string][] = [
  // empty
  ['', 'empty'],
  ['   ', 'empty'],
  [' \t\r\n', 'empty'],
  ['\0\n', 'empty'],
  // truncated
  ['{', 'invalid_json'],
  ['{"a"', 'invalid_json'],
  ['{"a":', 'invalid_json'],
  ['{"a":1', 'invalid_json'],
  ['{"a":1,', 'invalid_json'],
  ['{"a":1,"b"', 'invalid_json'],
  ['{"a":"unterminated', 'invalid_json'],
  ['{"a":"x\\', 'invalid_json'],
  ['{"a":"\\u00e', 'invalid_json'],
  ['{"a":[1,2', 'invalid_json'],
  ['{"a":{"b":1}', 'invalid_json'],
  ['{"msg":"cut in the middle of a li', 'invalid_json'],
  ['{"a":tr', 'invalid_json'],
  ['{"a":-', 'invalid_json'],
  // trailing garbage
  ['{"a":1}x', 'invalid_json'],
  ['{"a":1} x', 'invalid_json'],
  ['{"a":1}}', 'invalid_json'],
  ['{"a":1}]', 'invalid_json'],
  ['{"a":1},', 'invalid_json'],
  ['{"a":1}{"b":2}', 'invalid_json'],
  ['{"a":1}\n{"b":2}', 'invalid_json'],
  ['{"a":1}\0{"b":2}', 'invalid_json'],
  // not an object
  ['[1,2]', 'invalid_json'],
  ['[{"msg":"x"}]', 'invalid_json'],
  ['42', 'invalid_json'],
  ['"text"', 'invalid_json'],
  ['null', 'invalid_json'],
  ['true', 'invalid_json'],
  ['hello {"a":1}', 'invalid_json'],
  ['}', 'invalid_json'],
  ['\uFEFF', 'invalid_json'],
  // bad structure
  ['{a:1}', 'invalid_json'],
  ["{'a':1}", 'invalid_json'],
  ['{"a":1,}', 'invalid_json'],
  ['{,"a":1}', 'invalid_json'],
  ['{,}', 'invalid_json'],
  ['{"a" 1}', 'invalid_json'],
  ['{"a"::1}', 'invalid_json'],
  ['{"a":}', 'invalid_json'],
  ['{:1}', 'invalid_json'],
  ['{"a":1 "b":2}', 'invalid_json'],
  ['{"a":1;"b":2}', 'invalid_json'],
  ['{"a":1]', 'invalid_json'],
  ['{"a":[1,]}', 'invalid_json'],
  ['{"a":[,1]}', 'invalid_json'],
  ['{"a":[1 2]}', 'invalid_json'],
  ['{"a":[1}', 'invalid_json'],
  ['{"a":{"b"}}', 'invalid_json'],
  ['{"a":{"b":1,}}', 'invalid_json'],
  ['{"a":{1:2}}', 'invalid_json'],
  ['{"msg":"x", "req":{"id":1,}}', 'invalid_json'],
  // bad escapes (in values, keys, nested, and deferred role values)
  ['{"a":"\\x"}', 'invalid_json'],
  ['{"a":"\\u12"}', 'invalid_json'],
  ['{"a":"\\u12G4"}', 'invalid_json'],
  ['{"a":"\\U0041"}', 'invalid_json'],
  ["{\"a\":\"\\'\"}", 'invalid_json'],
  ['{"a":"\\a"}', 'invalid_json'],
  ['{"a":"\\0"}', 'invalid_json'],
  ['{"\\x":1}', 'invalid_json'],
  ['{"a":{"\\q":1}}', 'invalid_json'],
  ['{"msg":"\\q"}', 'invalid_json'],
  ['{"a":["\\q"]}', 'invalid_json'],
  // raw control characters in strings
  ['{"a":"tab\there"}', 'invalid_json'],
  ['{"msg":"line\nbreak"}', 'invalid_json'],
  ['{"a\u0001":1}', 'invalid_json'],
  // bad numbers and literals
  ['{"a":01}', 'invalid_json'],
  ['{"a":-01}', 'invalid_json'],
  ['{"a":1.}', 'invalid_json'],
  ['{"a":.5}', 'invalid_json'],
  ['{"a":+1}', 'invalid_json'],
  ['{"a":1e}', 'invalid_json'],
  ['{"a":1e+}', 'invalid_json'],
  ['{"a":0x10}', 'invalid_json'],
  ['{"a":NaN}', 'invalid_json'],
  ['{"a":Infinity}', 'invalid_json'],
  ['{"a":-Infinity}', 'invalid_json'],
  ['{"a":tru}', 'invalid_json'],
  ['{"a":True}', 'invalid_json'],
  ['{"a":nul}', 'invalid_json'],
  ['{"a":undefined}', 'invalid_json'],
  ['{"level":30.}', 'invalid_json'],
  ['{"time":1795339800.}', 'invalid_json'],
  // nesting beyond MAX_NESTING containers
  [`{"a":${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}}`, 'invalid_json'],
  [`{"a":${'{"x":'.repeat(MAX_NESTING)}1${'}'.repeat(MAX_NESTING)}}`, 'invalid_json'],
  [`{"msg":${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}}`, 'invalid_json'],
];

// ---- GELF ------------------------------------------------------------------------

const GELF_SPEC_EXAMPLE =
  '{"version":"1.1","host":"example.org","short_message":"A short message that helps you identify what is going on",' +
  '"full_message":"Backtrace here\\n\\nmore stuff","timestamp":1385053862.3072,"level":1,"_user_id":9001,"_some_info":"foo","_some_env_var":"bar"}';

const GELF_VALID: [string, string, Want][] = [
  [
    'the GELF 1.1 specification example',
    GELF_SPEC_EXAMPLE,
    {
      timestamp: ns('2013-11-21T17:11:02.307Z', 200000), host: 'example.org', severity: 1, message: 'A short message that helps you identify what is going on',
      fields: { full_message: 'Backtrace here\n\nmore stuff', user_id: '9001', some_info: 'foo', some_env_var: 'bar' },
    },
  ],
  [
    'deprecated facility, file, line are fields',
    '{"version":"1.1","host":"h","short_message":"m","facility":"auth","file":"/src/x.c","line":42,"timestamp":1795339800.5}',
    { timestamp: ns('2026-11-22T09:30:00.500Z'), host: 'h', message: 'm', fields: { facility: 'auth', file: '/src/x.c', line: '42' } },
  ],
  ['timestamp with µs', '{"version":"1.1","host":"h","short_message":"m","timestamp":1795339800.000001}', { timestamp: ns('2026-11-22T09:30:00Z', 1000), host: 'h', message: 'm' }],
  ['timestamp as an integer', '{"version":"1.1","host":"h","short_message":"m","timestamp":1795339800}', { timestamp: T930, host: 'h', message: 'm' }],
  ['levels 0 and 7', '{"version":"1.1","host":"h","short_message":"m","level":0}', { host: 'h', message: 'm', severity: 0 }],
  ['level 7', '{"version":"1.1","host":"h","short_message":"m","level":7}', { host: 'h', message: 'm', severity: 7 }],
  ['a level name is taken too', '{"version":"1.1","host":"h","short_message":"m","level":"error"}', { host: 'h', message: 'm', severity: 3 }],
  ['a pino level is not GELF: stays a field', '{"version":"1.1","host":"h","short_message":"m","level":30}', { host: 'h', message: 'm', fields: { level: '30' } }],
  ['level 8 stays a field', '{"version":"1.1","host":"h","short_message":"m","level":8}', { host: 'h', message: 'm', fields: { level: '8' } }],
  ['an unusable timestamp stays a field', '{"version":"1.1","host":"h","short_message":"m","timestamp":"soon"}', { host: 'h', message: 'm', fields: { timestamp: 'soon' } }],
  [
    'additional fields: the underscore is removed, _id too',
    '{"version":"1.1","host":"h","short_message":"m","_id":"abc","_user":{"id":7,"roles":["a"]},"_":"u","__x":"y"}',
    { host: 'h', message: 'm', fields: { id: 'abc', 'user.id': '7', 'user.roles': '["a"]', _: 'u', _x: 'y' } },
  ],
  ['an escaped additional field name', '{"version":"1.1","host":"h","short_message":"m","\\u005fk\\u00e9y":"v"}', { host: 'h', message: 'm', fields: { 'kéy': 'v' } }],
  [
    'JSON-lines keys are plain fields in GELF',
    '{"version":"1.1","host":"h","short_message":"m","time":"2026-11-22T09:00:00Z","msg":"other","hostname":"hn","app":"a","pid":1,"severity":"err"}',
    { host: 'h', message: 'm', fields: { time: '2026-11-22T09:00:00Z', msg: 'other', hostname: 'hn', app: 'a', pid: '1', severity: 'err' } },
  ],
  ['short_message with escapes and a trailing newline', '{"version":"1.1","host":"h","short_message":"a \\"q\\"\\n"}', { host: 'h', message: 'a "q"' }],
  ['key order does not matter', '{"_a":1,"level":4,"short_message":"m","host":"h","version":"1.1"}', { host: 'h', message: 'm', severity: 4, fields: { a: '1' } }],
  [
    'Docker gelf log driver',
    '{"version":"1.1","host":"docker-host","short_message":"Hello from the container","timestamp":1795339800.123,"level":6,' +
      '"_command":"/bin/sh -c echo","_container_id":"3f2a1b9c8d7e","_container_name":"web","_created":"2026-11-22T09:00:00.0Z","_image_id":"sha256:aa","_image_name":"nginx:1.27","_tag":"3f2a1b9c8d7e"}',
    {
      timestamp: ns('2026-11-22T09:30:00.123Z'), host: 'docker-host', severity: 6, message: 'Hello from the container',
      fields: { command: '/bin/sh -c echo', container_id: '3f2a1b9c8d7e', container_name: 'web', created: '2026-11-22T09:00:00.0Z', image_id: 'sha256:aa', image_name: 'nginx:1.27', tag: '3f2a1b9c8d7e' },
    },
  ],
];

describe('parseJson: time', () => {
  for (const [what, value, timestamp] of TIME_VALUES) {
    it(`time: ${what} ${value}`, () => expectRecord(parseOne(parseJson, `{"time":${value}}`), { timestamp }));
  }
  for (const key of TIME_KEYS) {
    for (const [what, value, timestamp] of [TIME_VALUES[1]!, TIME_VALUES[3]!, TIME_VALUES[6]!, TIME_VALUES[16]!, TIME_VALUES[23]!, TIME_VALUES[30]!]) {
      it(`${key}: ${what}`, () => expectRecord(parseOne(parseJson, `{"msg":"m",${JSON.stringify(key)}:${value}}`), { timestamp, message: 'm' }));
    }
  }

  it('RFC 3339 with 0–9 fraction digits, with and without offset, T or space', () => {
    for (let digits = 0; digits <= 9; digits++) {
      const frac = digits === 0 ? '' : '.' + '123456789'.slice(0, digits);
      const fracNs = digits === 0 ? 0 : Number('123456789'.slice(0, digits).padEnd(9, '0'));
      const expected = T930 + BigInt(fracNs);
      for (const [sep, zone, shift] of [['T', 'Z', 0], [' ', '', 0], ['T', '', 0], ['T', '+01:00', 1], [' ', '-02:30', -2.5], ['T', '+0100', 1]] as const) {
        const h = 9.5 + shift;
        const text = `2026-11-22${sep}${pad2(Math.floor(h))}:${pad2((h % 1) * 60)}:00${frac}${zone}`;
        expectRecord(parseOne(parseJson, JSON.stringify({ time: text })), { timestamp: expected });
      }
    }
  });

  it('the first key in the order time, timestamp, ts, @timestamp, date wins; the others stay fields', () => {
    const values = ['"2026-11-22T09:30:01Z"', '"2026-11-22T09:30:02Z"', '"2026-11-22T09:30:03Z"', '"2026-11-22T09:30:04Z"', '"2026-11-22T09:30:05Z"'];
    for (let first = 0; first < TIME_KEYS.length; first++) {
      // present: keys first..4, written in reverse order so that position does not decide
      const keys = TIME_KEYS.slice(first).reverse();
      const frame = '{' + keys.map((k) => `${JSON.stringify(k)}:${values[TIME_KEYS.indexOf(k)]}`).join(',') + '}';
      const fields: Record<string, string> = {};
      for (const k of TIME_KEYS.slice(first + 1)) fields[k] = JSON.parse(values[TIME_KEYS.indexOf(k)]!) as string;
      expectRecord(parseOne(parseJson, frame), { timestamp: ns(`2026-11-22T09:30:0${first + 1}Z`), fields });
    }
  });

  it('an unusable time falls through to the next time key and stays a field', () => {
    expectRecord(parseOne(parseJson, `{"time":"soon","ts":${S}}`), { timestamp: T930, fields: { time: 'soon' } });
    expectRecord(parseOne(parseJson, `{"date":"${'2026-11-22T09:30:00Z'}","time":true,"timestamp":"x"}`), { timestamp: T930, fields: { time: 'true', timestamp: 'x' } });
  });

  for (const [what, value, kept] of BAD_TIMES) {
    it(`an unusable time stays a field: ${what}`, () => {
      for (const key of TIME_KEYS) expectRecord(parseOne(parseJson, `{${JSON.stringify(key)}:${value}}`), { fields: { [key]: kept } });
    });
  }

  it('a time given as an object is flattened like any object', () => {
    expectRecord(parseOne(parseJson, '{"time":{"sec":1,"nsec":2}}'), { fields: { 'time.sec': '1', 'time.nsec': '2' } });
    expectRecord(parseOne(parseJson, '{"ts":{}}'), { fields: { ts: '{}' } });
  });

  it('a time string with JSON escapes is read like the same string without them', () => {
    // .NET's System.Text.Json writes `+` as \u002B by default
    expectRecord(parseOne(parseJson, '{"time":"2026-11-22T10:30:00.123\\u002B01:00"}'), { timestamp: ns('2026-11-22T09:30:00.123Z') });
    expectRecord(parseOne(parseJson, '{"ts":"\\u0031795339800"}'), { timestamp: T930 });
    expectRecord(parseOne(parseJson, '{"time":"2026-11-22T09:30:00\\/Z"}'), { fields: { time: '2026-11-22T09:30:00/Z' } });
    expectRecord(parseOne(parseJson, '{"time":"2026-11-22T09:30:00\\u00e9"}'), { fields: { time: '2026-11-22T09:30:00é' } });
    expectRecord(parseOne(parseJson, '{"time":"2026-11-22T09:30:00Z\\n"}'), { fields: { time: '2026-11-22T09:30:00Z\n' } });
  });
});

describe('parseJson: level', () => {
  for (const [name, sev] of LEVEL_NAMES) {
    it(`level name ${name} → ${sev}, in any case`, () => {
      const capital = name[0]!.toUpperCase() + name.slice(1);
      const mixed = [...name].map((c, k) => (k % 2 ? c.toUpperCase() : c)).join('');
      for (const text of [name, name.toUpperCase(), capital, mixed]) {
        expectRecord(parseOne(parseJson, `{"level":"${text}"}`), { severity: sev });
      }
    });
  }
  for (const [value, sev] of LEVEL_NUMBERS) {
    it(`level ${value} → ${sev}`, () => expectRecord(parseOne(parseJson, `{"level":${value}}`), { severity: sev }));
  }
  for (const [value, kept] of BAD_LEVELS) {
    it(`an unknown level stays a field: ${value}`, () => {
      for (const key of ['level', 'severity', 'lvl']) expectRecord(parseOne(parseJson, `{"${key}":${value}}`), { fields: { [key]: kept } });
    });
  }
  it('severity and lvl', () => {
    expectRecord(parseOne(parseJson, '{"severity":"ERROR"}'), { severity: 3 });
    expectRecord(parseOne(parseJson, '{"lvl":"dbug"}'), { severity: 7 });
    expectRecord(parseOne(parseJson, '{"severity":2}'), { severity: 2 });
  });
  it('level wins over severity over lvl; an unknown level falls through', () => {
    expectRecord(parseOne(parseJson, '{"lvl":"debug","severity":"error","level":"warn"}'), { severity: 4, fields: { severity: 'error', lvl: 'debug' } });
    expectRecord(parseOne(parseJson, '{"lvl":"debug","severity":"error"}'), { severity: 3, fields: { lvl: 'debug' } });
    expectRecord(parseOne(parseJson, '{"level":"chatty","lvl":"crit"}'), { severity: 2, fields: { level: 'chatty' } });
  });
  it('a level with JSON escapes is read like the same text without them', () => {
    expectRecord(parseOne(parseJson, '{"level":"\\u0065rror"}'), { severity: 3 });
    expectRecord(parseOne(parseJson, '{"level":"err\\nor"}'), { fields: { level: 'err\nor' } });
  });
  it('a level object is flattened', () => {
    expectRecord(parseOne(parseJson, '{"level":{"name":"info","value":30}}'), { fields: { 'level.name': 'info', 'level.value': '30' } });
  });
});

describe('parseJson: record keys, fields, real-world lines', () => {
  for (const [name, frame, want] of VALID) {
    it(name, () => expectRecord(parseOne(parseJson, frame), want));
  }

  it('flattens objects down to MAX_FLATTEN levels and keeps deeper ones as JSON text', () => {
    assert.equal(MAX_FLATTEN, 16);
    const nest = (n: number): string => {
      let v = '"leaf"';
      for (let k = n; k >= 1; k--) v = `{"k${k}":${v}}`;
      return v;
    };
    const path = (n: number): string => Array.from({ length: n }, (_, k) => `k${k + 1}`).join('.');
    // `a` holds n nested objects: its value is level 1 below the top-level object
    for (const n of [1, 2, 15, 16]) expectRecord(parseOne(parseJson, `{"a":${nest(n)}}`), { fields: { [`a.${path(n)}`]: 'leaf' } });
    // the 17th level and what it holds are JSON text
    expectRecord(parseOne(parseJson, `{"a":${nest(17)}}`), { fields: { [`a.${path(16)}`]: '{"k17":"leaf"}' } });
    expectRecord(parseOne(parseJson, `{"a":${nest(20)}}`), { fields: { [`a.${path(16)}`]: '{"k17":{"k18":{"k19":{"k20":"leaf"}}}}' } });
    // the same under a role key whose object is flattened, and under a GELF additional field
    expectRecord(parseOne(parseJson, `{"host":${nest(17)}}`), { fields: { [`host.${path(16)}`]: '{"k17":"leaf"}' } });
    expectRecord(parseOne(parseGelf, `{"short_message":"m","_x":${nest(17)}}`), { message: 'm', fields: { [`x.${path(16)}`]: '{"k17":"leaf"}' } });
    // arrays are text at any depth, so they do not count
    expectRecord(parseOne(parseJson, `{"a":[${nest(30)}]}`), { fields: { a: `[${nest(30)}]` } });
  });

  it('accepts nesting up to MAX_NESTING containers', () => {
    const inner = MAX_NESTING - 1; // plus the top-level object
    const arr = `${'['.repeat(inner)}${']'.repeat(inner)}`;
    expectRecord(parseOne(parseJson, `{"a":${arr}}`), { fields: { a: arr } });
    expectRecord(parseOne(parseJson, `{"msg":${arr}}`), { message: arr });
  });

  for (const [frame, reason] of INVALID) {
    it(`fails ${reason}: ${show(frame)}`, () => expectFailure(parseJson, frame, reason));
  }

  it('duplicate keys: the last one counts, the earlier ones stay fields (nothing is lost)', () => {
    expectRecord(parseOne(parseJson, '{"msg":"a","msg":"b"}'), { message: 'b', fields: { msg: 'a' } });
    expectRecord(parseOne(parseJson, '{"level":"error","level":"info"}'), { severity: 6, fields: { level: 'error' } });
    // the last one counts even when it is unusable
    expectRecord(parseOne(parseJson, `{"time":"2026-11-22T09:30:00Z","time":"later"}`), { fields: { time: 'later' } });
    const batch = parseBatch(parseJson, ['{"a":1,"b":2,"a":3}', '{"msg":"x","msg":"y","msg":"z"}', '{"a.b":1,"a":{"b":2}}']);
    assert.deepEqual(fieldList(batch, 0), [['a', '1'], ['b', '2'], ['a', '3']]);
    assert.deepEqual(fieldList(batch, 1), [['msg', 'x'], ['msg', 'y']]);
    assert.deepEqual(fieldList(batch, 2), [['a.b', '1'], ['a.b', '2']]);
  });

  it('invalid UTF-8 inside strings is kept and decodes to U+FFFD, never rejected', () => {
    const b = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    expectRecord(parseOne(parseJson, b('{"msg":"a', [0xff, 0xfe], 'b"}')), { message: 'a\uFFFD\uFFFDb' });
    expectRecord(parseOne(parseJson, b('{"msg":"cut ', [0xe2, 0x82], '"}')), { message: 'cut \uFFFD' });
    expectRecord(parseOne(parseJson, b('{"k', [0xc3], '":"v', [0x80], '"}')), { fields: { 'k\uFFFD': 'v\uFFFD' } });
    expectRecord(parseOne(parseJson, b('{"k', [0xff], '\\n":"v\\n', [0xff], '"}')), { fields: { 'k\uFFFD\n': 'v\n\uFFFD' } });
    expectRecord(parseOne(parseJson, b('{"host":"', [0xed, 0xa0, 0x80], '"}')), { host: '\uFFFD\uFFFD\uFFFD' });
    // a lone surrogate escape is valid JSON; as UTF-8 text it is U+FFFD
    const r = parseOne(parseJson, '{"msg":"\\ud800 lone","k":"\\udc00"}');
    assert.equal(Buffer.from(r.message, 'utf8').toString(), '\uFFFD lone');
    assert.equal(Buffer.from(r.fields['k']!, 'utf8').toString(), '\uFFFD');
    // a raw invalid byte outside a string is not JSON
    expectFailure(parseJson, b('{"a":', [0xff], '}'), 'invalid_json');
    expectFailure(parseJson, b('{', [0xff], ':1}'), 'invalid_json');
  });

  it('stores plain strings as ENC_UTF8 and escaped ones as ENC_JSON, as ranges of the frame', () => {
    const frame = '{"a":"plain","b":"es\\"c","c":{"d":"\\u00e9"},"e":12,"msg":"m\\n"}';
    const batch = parseBatch(parseJson, [frame]);
    assert.deepEqual(Array.from(batch.fieldEnc), [ENC_UTF8, ENC_JSON, ENC_JSON, ENC_UTF8]);
    const at = (f: number): string => batch.buf.toString('utf8', batch.fieldSpans[2 * f], batch.fieldSpans[2 * f + 1]);
    assert.deepEqual([at(0), at(1), at(2), at(3)], ['plain', 'es\\"c', '\\u00e9', '12']);
    // the message without its trailing \n escape holds no escape any more: plain UTF-8
    assert.equal(batch.enc[MESSAGE]!, ENC_UTF8);
    assert.equal(batch.buf.toString('utf8', batch.spans[2 * MESSAGE], batch.spans[2 * MESSAGE + 1]), 'm');
    const esc = parseBatch(parseJson, ['{"msg":"a\\tb\\n"}']);
    assert.equal(esc.enc[MESSAGE]!, ENC_JSON);
    assert.equal(esc.buf.toString('utf8', esc.spans[2 * MESSAGE], esc.spans[2 * MESSAGE + 1]), 'a\\tb');
  });

  it('keeps the records of a batch apart; a record that fails halfway leaves no fields behind', () => {
    const rs = parseAll(parseJson, [
      '{"msg":"one","a":1}\n',
      '{"msg":"two","b":{"c":2},"d":[1,\n',
      '{"msg":"three","level":"error"}\n',
      '{"x":1,"y":"\\q"}\n',
      '{"msg":"five"}\n',
    ]);
    expectRecord(rs[0]!, { message: 'one', fields: { a: '1' } });
    expectRecord(rs[1]!, { message: '{"msg":"two","b":{"c":2},"d":[1,', fields: { parse_error: 'invalid_json' } });
    expectRecord(rs[2]!, { message: 'three', severity: 3 });
    expectRecord(rs[3]!, { message: '{"x":1,"y":"\\q"}', fields: { parse_error: 'invalid_json' } });
    expectRecord(rs[4]!, { message: 'five' });
  });

  it('reuses key ids across records, nested names included', () => {
    const batch = parseBatch(parseJson, ['{"a":{"b":1}}', '{"a":{"b":2},"c":3}', '{"x":{"a":{"b":3}}}']);
    assert.equal(batch.fieldKey[0], batch.fieldKey[1]);
    assert.notEqual(batch.fieldKey[0], batch.fieldKey[3]);
    assert.equal(batch.keys.strings[batch.fieldKey[0]!], 'a.b');
  });

  it('many deferred members (more than the initial 32)', () => {
    const obj: Record<string, string> = {};
    for (let k = 0; k < 100; k++) obj[`_k${k}`] = `v${k}`;
    expectRecord(parseOne(parseJson, JSON.stringify({ ...obj, msg: 'm' })), { message: 'm', fields: obj });
    const gelf = parseOne(parseJson, JSON.stringify({ version: '1.1', host: 'h', short_message: 'm', ...obj }));
    expectRecord(gelf, { host: 'h', message: 'm', fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k.slice(1), v])) });
  });
});

describe('GELF', () => {
  for (const [name, frame, want] of GELF_VALID) {
    it(`gelf listener: ${name}`, () => expectRecord(parseOne(parseGelf, frame), want));
    it(`json listener detects it: ${name}`, () => expectRecord(parseOne(parseJson, frame), want));
    it(`auto listener detects it: ${name}`, () => expectRecord(parseOne(parseAuto, frame), want));
  }

  it('a GELF listener takes an object without version (lenient), with the GELF mapping', () => {
    expectRecord(parseOne(parseGelf, '{"host":"h","short_message":"m","_a":1,"msg":"x"}'), { host: 'h', message: 'm', fields: { a: '1', msg: 'x' } });
    expectRecord(parseOne(parseGelf, '{"short_message":""}'), {});
  });

  it('a GELF listener: an object without short_message is invalid_gelf', () => {
    for (const frame of [
      '{"version":"1.1","host":"h","full_message":"no short message"}',
      '{"version":"1.1","host":"h","message":"m","msg":"m"}',
      '{}',
      '{"short_messages":"m"}',
      '{"a":{"short_message":"nested"}}',
      '{"version":"1.1","host":"h","short_message":"m"}'.replace('short_message', 'Short_message'),
    ]) {
      expectFailure(parseGelf, frame, 'invalid_gelf');
    }
    expectFailure(parseGelf, '{"version":"1.1","host":"h","full_message":"x"}\0', 'invalid_gelf');
  });

  it('a GELF listener: what is not one JSON object is invalid_json (or empty)', () => {
    for (const frame of ['[{"short_message":"m"}]', '"m"', 'short_message', '{"short_message":"m"', '{"short_message":"m"}x', '{"short_message":"\\x"}']) {
      expectFailure(parseGelf, frame, 'invalid_json');
    }
    expectFailure(parseGelf, '', 'empty');
    expectFailure(parseGelf, '\0', 'empty');
  });

  it('auto-detection needs both version and short_message', () => {
    expectRecord(parseOne(parseJson, '{"short_message":"m","host":"h","_a":1}'), { host: 'h', fields: { short_message: 'm', _a: '1' } });
    expectRecord(parseOne(parseJson, '{"version":"1.1","host":"h","msg":"m","_a":1}'), { host: 'h', message: 'm', fields: { version: '1.1', _a: '1' } });
    // nested keys do not count
    expectRecord(parseOne(parseJson, '{"version":"1.1","x":{"short_message":"m"}}'), { fields: { version: '1.1', 'x.short_message': 'm' } });
    // whatever their values
    expectRecord(parseOne(parseJson, '{"version":2,"short_message":null}'), { message: 'null' });
  });

  it('short_message: a non-string value is its JSON text', () => {
    expectRecord(parseOne(parseGelf, '{"version":"1.1","host":"h","short_message":{"a":1}}'), { host: 'h', message: '{"a":1}' });
    expectRecord(parseOne(parseGelf, '{"version":"1.1","host":"h","short_message":12}'), { host: 'h', message: '12' });
  });
});

describe('auto listener: JSON', () => {
  it('`{` after spaces and tabs is JSON', () => {
    expectRecord(parseOne(parseAuto, ' \t{"msg":"m","level":"info"}'), { message: 'm', severity: 6 });
    expectRecord(parseOne(parseAuto, '{"msg":"m"} trailing'), { message: '{"msg":"m"} trailing', fields: { parse_error: 'invalid_json' } });
  });
  it('anything else is not JSON', () => {
    expectRecord(parseOne(parseAuto, '[{"msg":"m"}]'), { message: '[{"msg":"m"}]' });
    expectRecord(parseOne(parseAuto, 'x {"msg":"m"}'), { message: 'x {"msg":"m"}' });
  });
});

describe('text-values', () => {
  const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
  const time = (s: string): bigint | null => (parseTimeText(bytes(s), 0, s.length) ? BigInt(parsedTime.ms) * 1_000_000n + BigInt(parsedTime.ns) : null);

  it('parseTimeText reads only [s, e)', () => {
    const b = bytes(`x${S}123y`);
    assert.ok(parseTimeText(b, 1, 11));
    assert.equal(parsedTime.ms, S * 1000);
    assert.ok(parseTimeText(b, 1, 14));
    assert.equal(parsedTime.ms, S * 1000 + 123);
    assert.equal(parseTimeText(b, 1, 15), false);
    const iso = bytes('[2026-11-22T09:30:00.5Z]');
    assert.ok(parseTimeText(iso, 1, 23));
    assert.equal(parsedTime.ms, Date.UTC(2026, 10, 22, 9, 30, 0, 500));
    assert.equal(parseTimeText(iso, 1, 24), false);
  });

  it('parseTimeText: any epoch in s, ms, µs and ns, with fraction, exactly (fast-check)', () => {
    const pad = (n: number, w: number): string => String(n).padStart(w, '0');
    fc.assert(
      fc.property(fc.integer({ min: 100_000_000_000, max: 99_999_999_999_999 }), fc.integer({ min: 0, max: 999_999 }), (ms, sub) => {
        const expected = BigInt(ms) * 1_000_000n + BigInt(sub);
        const texts = [
          `${Math.floor(ms / 1000)}.${pad(ms % 1000, 3)}${pad(sub, 6)}`,
          `${ms}.${pad(sub, 6)}`,
          `${ms}${pad(Math.floor(sub / 1000), 3)}.${pad(sub % 1000, 3)}`,
          `${ms}${pad(sub, 6)}`,
        ];
        for (const t of texts) assert.equal(time(t), expected, t);
        // whole seconds / ms as written by most loggers
        assert.equal(time(String(Math.floor(ms / 1000))), BigInt(Math.floor(ms / 1000)) * 1_000_000_000n);
        assert.equal(time(String(ms)), BigInt(ms) * 1_000_000n);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseTimeText: any RFC 3339 time with any offset and 0–9 fraction digits, exactly (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1, 0, 2), max: Date.UTC(9999, 11, 30) }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: -1439, max: 1439 }),
        fc.integer({ min: 0, max: 9 }), fc.constantFrom('T', ' ', 't'), fc.constantFrom(':', ''),
        (ms, subMs, offMin, digits, sep, colon) => {
          const local = new Date(ms + offMin * 60_000);
          const frac9 = (((ms % 1000) + 1000) % 1000) * 1_000_000 + subMs;
          const fracText = digits === 0 ? '' : '.' + String(frac9).padStart(9, '0').slice(0, digits);
          const abs = Math.abs(offMin);
          const off = offMin === 0 && digits % 3 === 0 ? (digits === 0 ? '' : 'Z') : `${offMin < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${colon}${pad2(abs % 60)}`;
          const text = `${String(local.getUTCFullYear()).padStart(4, '0')}-${pad2(local.getUTCMonth() + 1)}-${pad2(local.getUTCDate())}` +
            `${sep}${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())}${fracText}${off}`;
          const truncated = digits === 0 ? 0 : Math.floor(frac9 / 10 ** (9 - digits)) * 10 ** (9 - digits);
          assert.equal(time(text), BigInt(Math.floor(ms / 1000) * 1000) * 1_000_000n + BigInt(truncated), text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('parseLevelText: names in any case, numbers, and -1 for the rest', () => {
    const level = (s: string, syslogOnly = false): number => parseLevelText(Buffer.from(s), 0, Buffer.byteLength(s), syslogOnly);
    for (const [name, sev] of LEVEL_NAMES) {
      assert.equal(level(name), sev, name);
      assert.equal(level(name.toUpperCase()), sev, name);
      assert.equal(level(name, true), sev, name);
    }
    for (const [n, sev] of [['0', 0], ['7', 7], ['10', 7], ['30', 6], ['50', 3], ['60', 2], ['1e1', 7]] as const) assert.equal(level(n), sev, n);
    for (const n of ['8', '-1', '1.5', '', 'x', 'informationalx', '0x1', '10 ', '１', 'ERR0R', '[info]', 'Érror']) assert.equal(level(n), -1, n);
    // GELF: only the syslog numbers
    for (const n of ['10', '30', '60']) assert.equal(level(n, true), -1, n);
    for (let n = 0; n <= 7; n++) assert.equal(level(String(n), true), n);
  });

  it('trimEscapedLineEnds drops \\n and \\r escapes at the end, not escaped backslashes', () => {
    const t = (s: string): string => s.slice(0, trimEscapedLineEnds(bytes(s), 0, s.length));
    assert.equal(t('abc\\n'), 'abc');
    assert.equal(t('abc\\r\\n\\n'), 'abc');
    assert.equal(t('abc\\\\n'), 'abc\\\\n');
    assert.equal(t('abc\\\\\\n'), 'abc\\\\');
    assert.equal(t('\\n'), '');
    assert.equal(t('n'), 'n');
    assert.equal(t('abc\\t'), 'abc\\t');
    assert.equal(t('abc\\n\\t'), 'abc\\n\\t');
  });
});

// ---- properties ---------------------------------------------------------------------

/** Tokens of JSON (and near-JSON) that random frames are made of, so that they get past the first byte. */
const JSON_TOKENS = [
  '{', '}', '[', ']', ':', ',', '"', '\\', '\\"', '\\\\', '\\n', '\\u00e9', '\\ud83d', '\\u', '\\x', '0', '1', '-', '.', 'e', '+',
  '1795339800', '123', 'true', 'false', 'null', 'tru', ' ', '\t', '\n', '\r', 'a', 'é', '\u2028', '"msg"', '"time"', '"level"', '"ts"',
  '"host"', '"log"', '"_x"', '"version"', '"short_message"', '"1.1"', '"info"', '"2026-11-22T09:30:00Z"', '"a":', '{"b":', '":"',
];
const jsonTokens = fc.array(fc.constantFrom(...JSON_TOKENS), { maxLength: 40 }).map((ts) => ts.join(''));
const jsonFrame = fc.oneof(
  jsonTokens.map((s) => Buffer.from('{' + s)),
  jsonTokens.map((s) => Buffer.from(s)),
  fc.tuple(jsonTokens, fc.uint8Array({ maxLength: 8 })).map(([s, b]) => Buffer.concat([Buffer.from('{' + s), Buffer.from(b)])),
  fc.jsonValue({ maxDepth: 5 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.object({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? '{}')),
);


/** Whether JSON.parse takes the text as one object (what parseJson must accept). */
function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** Keys that have a role at the top level of a JSON line or a GELF object. */
const ROLE_KEYS = new Set([
  'time', 'timestamp', 'ts', '@timestamp', 'date', 'level', 'severity', 'lvl', 'msg', 'message', 'log', 'host', 'hostname', 'app', 'service',
  'logger', 'pid', 'msgid', 'version', 'short_message',
]);
const anyKey = fc.string({ unit: 'binary', maxLength: 12 }).filter((k) => !ROLE_KEYS.has(k) && !k.startsWith('_') && k !== '__proto__');
const anyText = fc.string({ unit: 'binary', maxLength: 30 });
const scalar = fc.oneof(anyText, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));

describe('parseJson and parseGelf: properties (fast-check)', () => {
  it('never throw and keep every range inside the frame, whatever the bytes', () => {
    const prefixes = ['', '{', '{"', '{"msg":"', '{"a":', '{"a":{"b":', '{"time":', '{"level":', '{"version":"1.1","short_message":"', '{"_x":', ' {"a":[', '\uFEFF{'];
    checkTotal(parseJson, prefixes);
    checkTotal(parseGelf, prefixes);
  });

  it('never throw on JSON-like token soup, and parse alone as in a batch', () => {
    fc.assert(
      fc.property(fc.array(jsonFrame, { minLength: 1, maxLength: 4 }), (frames) => {
        assertSane(parseJson, frames);
        assertSane(parseGelf, frames);
        assertSane(parseAuto, frames);
      }),
      { numRuns: 3000 },
    );
  });

  it('accept exactly what JSON.parse takes as an object', () => {
    // valid documents (mostly objects), then the same with one small edit: a structural
    // token inserted, a character dropped or doubled
    const doc = fc.oneof(
      { arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }).map((o) => JSON.stringify(o)), weight: 3 },
      { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), weight: 1 },
    );
    const edit = fc.tuple(doc, fc.nat(), fc.constantFrom('insert', 'drop', 'double'), fc.constantFrom(',', ':', '"', '{', '}', '[', ']', '\\', ' ', '0', '-', '.', 'e', 'E', '+', 'n', 'u', '\\u', '\t'))
      .map(([s, at, how, t]) => {
        const k = at % (s.length + 1);
        if (how === 'insert') return s.slice(0, k) + t + s.slice(k);
        if (how === 'drop') return s.slice(0, k) + s.slice(k + 1);
        return s.slice(0, k) + s.slice(k, k + 1) + s.slice(k);
      });
    const text = fc.oneof(jsonTokens.map((s) => '{' + s), jsonTokens, doc, edit, edit);
    fc.assert(
      fc.property(text, (t) => {
        const r = parseOne(parseJson, t);
        const failed = r.fields['parse_error'];
        if (isJsonObject(t)) assert.equal(failed, undefined, t);
        else assert.ok(failed === 'invalid_json' || failed === 'empty', `${t}: ${failed}`);
        const g = parseOne(parseGelf, t);
        if (!isJsonObject(t)) assert.ok(g.fields['parse_error'] === 'invalid_json' || g.fields['parse_error'] === 'empty', t);
        else if (!Object.hasOwn(JSON.parse(t) as object, 'short_message')) assert.equal(g.fields['parse_error'], 'invalid_gelf', t);
        else assert.equal(g.fields['parse_error'], undefined, t);
      }),
      { numRuns: 10000 },
    );
  });

  it('round trip: a flat object rendered with JSON.stringify parses back to the same fields and record keys', () => {
    const record = fc.record(
      {
        msg: anyText, time: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), timeAs: fc.constantFrom('iso', 's', 'ms', 'text-ms'),
        level: fc.constantFrom(...LEVEL_NAMES), host: anyText, app: anyText, pid: fc.oneof(fc.nat(), anyText),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.dictionary(anyKey, scalar, { maxKeys: 12 }), record, fc.boolean(), (fields, known, roleKeysFirst) => {
        const obj: Record<string, unknown> = {};
        const roles: Record<string, unknown> = {};
        const want: Want = { fields: {} };
        if (known.msg !== undefined) {
          roles['msg'] = known.msg;
          want.message = known.msg.replace(/[\r\n]+$/, '');
        }
        if (known.time !== undefined) {
          const t = known.time;
          const as = known.timeAs ?? 'iso';
          roles['time'] = as === 'iso' ? new Date(t).toISOString() : as === 's' ? t / 1000 : as === 'ms' ? t : String(t);
          want.timestamp = BigInt(t) * 1_000_000n;
        }
        if (known.level !== undefined) {
          roles['level'] = known.level[0];
          want.severity = known.level[1];
        }
        if (known.host !== undefined) {
          roles['host'] = known.host;
          want.host = known.host === '' ? null : known.host;
        }
        if (known.app !== undefined) {
          roles['app'] = known.app;
          want.app = known.app === '' ? null : known.app;
        }
        if (known.pid !== undefined) {
          roles['pid'] = known.pid;
          want.procid = known.pid === '' ? null : String(known.pid);
        }
        for (const [k, v] of Object.entries(fields)) want.fields![k] = typeof v === 'string' ? v : JSON.stringify(v);
        Object.assign(obj, roleKeysFirst ? roles : {}, fields, roles);
        const text = JSON.stringify(obj);
        expectRecord(parseOne(parseJson, text), want);
        expectRecord(parseOne(parseJson, Buffer.from(JSON.stringify(obj, null, 2) + '\n')), want);
      }),
      { numRuns: 2000 },
    );
  });

  it('round trip: nested objects come back flattened with dots', () => {
    const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small', maxDepth: 6, withCrossShrink: true }, scalar, fc.array(scalar, { maxLength: 3 }), tie('o')),
      o: fc.dictionary(anyKey, tie('v'), { maxKeys: 4 }),
    })).v;
    const flatten = (o: Record<string, unknown>, prefix: string, out: Record<string, string>): void => {
      for (const [k, v] of Object.entries(o)) {
        const name = prefix + k;
        if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) flatten(v as Record<string, unknown>, name + '.', out);
        else out[name] = typeof v === 'string' ? v : JSON.stringify(v);
      }
    };
    fc.assert(
      fc.property(fc.dictionary(anyKey, value, { maxKeys: 6 }), (obj) => {
        const want: Record<string, string> = {};
        flatten(obj, '', want);
        expectRecord(parseOne(parseJson, JSON.stringify(obj)), { fields: want });
      }),
      { numRuns: 1000 },
    );
  });

  it('round trip: a GELF object rendered with JSON.stringify parses back', () => {
    fc.assert(
      fc.property(anyText, anyText, fc.integer({ min: 0, max: 7 }), fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }), fc.dictionary(anyKey, scalar, { maxKeys: 8 }),
        (host, short, level, ms, extra) => {
          const obj: Record<string, unknown> = { version: '1.1', host, short_message: short, timestamp: ms / 1000, level };
          const fields: Record<string, string> = {};
          for (const [k, v] of Object.entries(extra)) {
            obj[`_${k}`] = v;
            fields[k.length === 0 ? '_' : k] = typeof v === 'string' ? v : JSON.stringify(v);
          }
          const want: Want = { host: host === '' ? null : host, message: short.replace(/[\r\n]+$/, ''), severity: level, timestamp: BigInt(ms) * 1_000_000n, fields };
          for (const parser of [parseGelf, parseJson]) expectRecord(parseOne(parser, JSON.stringify(obj)), want);
        }),
      { numRuns: 1000 },
    );
  });

  it('the receive time is kept when the object has no time', () => {
    const other = RECEIVED_MS + 1234;
    expectRecord(parseOne(parseJson, '{"msg":"m"}', other), { message: 'm' }, other);
  });
});

describe('keys remembered from record to record', () => {
  // Keys with and without roles, `_` keys, keys that start alike, escaped keys, at varying places and depths.
  const key = fc.constantFrom('msg', 'message', 'ms', 'msgx', 'level', 'lvl', 'host', '_app', '_id', 'a', 'ab', 'a.b', 'time', 'version', 'short_message', 'm\\u0073g', 'x'.repeat(60));
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.constantFrom('info', 'warn', 1, true, null, 'text', '2026-11-22T09:30:00Z'), fc.array(tie('v'), { maxLength: 2 }), tie('o')),
    o: fc.array(fc.tuple(key, tie('v')), { maxLength: 4 }).map((kv) => `{${kv.map(([k, v]) => `"${k}":${typeof v === 'string' && v.startsWith('{') ? v : JSON.stringify(v)}`).join(',')}}`),
  })).v;
  const frame = fc.array(fc.tuple(key, value), { maxLength: 7 }).map((kv) =>
    `{${kv.map(([k, v]) => `"${k}":${typeof v === 'string' && v.startsWith('{') ? v : JSON.stringify(v)}`).join(',')}}`);

  for (const [name, parser] of [['json', parseJson], ['gelf', parseGelf]] as const) {
    it(`${name}: one batch gives the same records as each frame parsed alone`, () => {
      fc.assert(
        fc.property(fc.array(frame, { minLength: 1, maxLength: 10 }), (frames) => {
          const batch = parseAll(parser, frames);
          frames.forEach((f, i) => assert.deepEqual(batch[i], parseOne(parser, f), f));
        }),
        { numRuns: 1000 },
      );
    });
  }
});
