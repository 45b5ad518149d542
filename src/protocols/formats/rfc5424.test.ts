import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ENC_SD, ENC_UTF8 } from '../../record/record-batch.js';
import { PARSE_ERROR_REASONS } from './format.js';
import { parseRfc5424 } from './rfc5424.js';
import { checkTotal, expectRecord, pad2, parseBatch, type Want } from './syslog-test-helpers.js';
import { ns, parseAll, parseOne } from './test-helpers.js';

const BOM = '\uFEFF';

const VALID: [string, string, Want][] = [
  // RFC 5424 §6.5, examples 1–4
  [
    '§6.5 example 1: no SD, BOM',
    `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`,
    { timestamp: ns('2003-10-11T22:14:15.003Z'), host: 'mymachine.example.com', app: 'su', msgid: 'ID47', facility: 4, severity: 2, message: "'su root' failed for lonvick on /dev/pts/8" },
  ],
  [
    '§6.5 example 2: µs and a negative offset, no BOM',
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
    { timestamp: ns('2003-08-24T12:14:15.000Z', 3000), host: '192.0.2.1', app: 'myproc', procid: '8710', facility: 20, severity: 5, message: "%% It's time to make the do-nuts." },
  ],
  [
    '§6.5 example 3: SD and MSG',
    `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ${BOM}An application event log entry...`,
    {
      timestamp: ns('2003-10-11T22:14:15.003Z'), host: 'mymachine.example.com', app: 'evntslog', msgid: 'ID47', facility: 20, severity: 5,
      message: 'An application event log entry...',
      fields: { 'exampleSDID@32473.iut': '3', 'exampleSDID@32473.eventSource': 'Application', 'exampleSDID@32473.eventID': '1011' },
    },
  ],
  [
    '§6.5 example 4: two SD elements, no MSG',
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    {
      timestamp: ns('2003-10-11T22:14:15.003Z'), host: 'mymachine.example.com', app: 'evntslog', msgid: 'ID47', facility: 20, severity: 5,
      fields: { 'exampleSDID@32473.iut': '3', 'exampleSDID@32473.eventSource': 'Application', 'exampleSDID@32473.eventID': '1011', 'examplePriority@32473.class': 'high' },
    },
  ],
  // NILVALUEs
  ['every field NILVALUE, no MSG', '<13>1 - - - - - -', { facility: 1, severity: 5 }],
  ['every field NILVALUE, with MSG', '<0>1 - - - - - - hello', { facility: 0, severity: 0, message: 'hello' }],
  ['PRI 191, SP then nothing', '<191>1 - - - - - - ', { facility: 23, severity: 7 }],
  ['PRI with leading zeros', '<013>1 - h - - - -', { facility: 1, severity: 5, host: 'h' }],
  ['only MSGID', '<14>1 - - - - ID9 - m', { severity: 6, msgid: 'ID9', message: 'm' }],
  ['MSG that is only a BOM', `<14>1 - - - - - - ${BOM}`, { severity: 6 }],
  ['BOM kept when not at the start', `<14>1 - - - - - - a${BOM}b`, { severity: 6, message: `a${BOM}b` }],
  ['MSG keeps inner spaces and a leading one', '<14>1 - - - - - -  two  spaces ', { severity: 6, message: ' two  spaces ' }],
  ['MSG with UTF-8', '<14>1 - - - - - - héllo wörld ✓', { severity: 6, message: 'héllo wörld ✓' }],
  // structured data
  [
    'SD escapes: \\" \\\\ \\] and a literal backslash',
    '<14>1 - - - - - [x@1 q="say \\"hi\\"" b="C:\\\\dir" r="a\\]b" l="lit\\n" e=""] m',
    { severity: 6, message: 'm', fields: { 'x@1.q': 'say "hi"', 'x@1.b': 'C:\\dir', 'x@1.r': 'a]b', 'x@1.l': 'lit\\n', 'x@1.e': '' } },
  ],
  ['SD: value ending in an escaped backslash', '<14>1 - - - - - [x a="\\\\"]', { severity: 6, fields: { 'x.a': '\\' } }],
  ['SD: unescaped ] inside quotes is accepted', '<14>1 - - - - - [x a="]"]', { severity: 6, fields: { 'x.a': ']' } }],
  ['SD: UTF-8 value', '<14>1 - - - - - [x a="ünïcødé"]', { severity: 6, fields: { 'x.a': 'ünïcødé' } }],
  ['SD element without params', '<14>1 - - - - - [origin] m', { severity: 6, message: 'm', fields: { origin: '' } }],
  [
    'three SD elements, mixed',
    '<14>1 - - - - - [a x="1"][b][c@2 y="2" z="3"] m',
    { severity: 6, message: 'm', fields: { 'a.x': '1', b: '', 'c@2.y': '2', 'c@2.z': '3' } },
  ],
  ['SD then no SP before the end', '<14>1 - - - - - [a x="1"]', { severity: 6, fields: { 'a.x': '1' } }],
  // timestamps
  ['ns exact: 9 fraction digits', '<14>1 2026-11-22T10:00:00.123456789Z - - - - -', { severity: 6, timestamp: ns('2026-11-22T10:00:00.123Z', 456789) }],
  ['9 nines', '<14>1 2026-11-22T10:00:00.999999999Z - - - - -', { severity: 6, timestamp: ns('2026-11-22T10:00:00.999Z', 999999) }],
  ['one fraction digit, +05:30', '<14>1 2026-11-22T10:00:00.1+05:30 - - - - -', { severity: 6, timestamp: ns('2026-11-22T04:30:00.100Z') }],
  ['RFC 3339 example 1985-04-12T23:20:50.52Z', '<14>1 1985-04-12T23:20:50.52Z - - - - -', { severity: 6, timestamp: ns('1985-04-12T23:20:50.520Z') }],
  ['RFC 3339 example with -08:00', '<14>1 1996-12-19T16:39:57-08:00 - - - - -', { severity: 6, timestamp: ns('1996-12-20T00:39:57Z') }],
  ['offset crosses the day and the year', '<14>1 2026-12-31T23:30:00-02:00 - - - - -', { severity: 6, timestamp: ns('2027-01-01T01:30:00Z') }],
  ['-00:00 and a µs fraction', '<14>1 2026-11-22T10:00:00.000001-00:00 - - - - -', { severity: 6, timestamp: ns('2026-11-22T10:00:00.000Z', 1000) }],
  ['lower-case t and z', '<14>1 2026-11-22t10:00:00.5z - - - - -', { severity: 6, timestamp: ns('2026-11-22T10:00:00.500Z') }],
  ['offset without colon', '<14>1 2026-11-22T10:00:00+0100 - - - - -', { severity: 6, timestamp: ns('2026-11-22T09:00:00Z') }],
  ['leap year Feb 29', '<14>1 2024-02-29T12:00:00Z - - - - -', { severity: 6, timestamp: ns('2024-02-29T12:00:00Z') }],
  ['leap year 2000 Feb 29', '<14>1 2000-02-29T00:00:00Z - - - - -', { severity: 6, timestamp: ns('2000-02-29T00:00:00Z') }],
  ['before the epoch with a fraction', '<14>1 1969-12-31T23:59:59.5Z - - - - -', { severity: 6, timestamp: -500_000_000n }],
  ['leap second 60', '<14>1 2016-12-31T23:59:60Z - - - - -', { severity: 6, timestamp: ns('2017-01-01T00:00:00Z') }],
  // header lengths
  ['255-byte hostname (lenient on every field)', `<14>1 - ${'h'.repeat(255)} ${'a'.repeat(255)} - - -`, { severity: 6, host: 'h'.repeat(255), app: 'a'.repeat(255) }],
  ['trailing CR LF NUL trimmed', '<14>1 - - - - - - msg\r\n\0', { severity: 6, message: 'msg' }],
  ['leading spaces before the PRI', '  <14>1 - - - - - - msg', { severity: 6, message: 'msg' }],
  // real senders
  [
    'util-linux logger --rfc5424',
    '<13>1 2026-11-22T11:00:00.123456+01:00 myhost alice - - [timeQuality tzKnown="1" isSynced="1" syncAccuracy="560500"] hello world',
    {
      timestamp: ns('2026-11-22T10:00:00.123Z', 456000), host: 'myhost', app: 'alice', message: 'hello world',
      fields: { 'timeQuality.tzKnown': '1', 'timeQuality.isSynced': '1', 'timeQuality.syncAccuracy': '560500' },
    },
  ],
  [
    'util-linux logger --rfc5424 --msgid --id',
    '<13>1 2026-11-22T10:00:00.000001+00:00 myhost alice 4321 login [timeQuality tzKnown="1" isSynced="0"] x',
    { timestamp: ns('2026-11-22T10:00:00.000Z', 1000), host: 'myhost', app: 'alice', procid: '4321', msgid: 'login', message: 'x', fields: { 'timeQuality.tzKnown': '1', 'timeQuality.isSynced': '0' } },
  ],
  [
    'rsyslog RSYSLOG_SyslogProtocol23Format, trailing LF',
    '<86>1 2026-11-22T10:00:00.123456+00:00 myhost sshd 1234 - - Accepted publickey for alice from 10.0.0.2 port 50000 ssh2\n',
    { timestamp: ns('2026-11-22T10:00:00.123Z', 456000), host: 'myhost', app: 'sshd', procid: '1234', facility: 10, severity: 6, message: 'Accepted publickey for alice from 10.0.0.2 port 50000 ssh2' },
  ],
  [
    'syslog-ng with meta sequenceId',
    '<38>1 2026-11-22T11:00:00+01:00 gw sshd 4321 - [meta sequenceId="17"] Accepted',
    { timestamp: ns('2026-11-22T10:00:00Z'), host: 'gw', app: 'sshd', procid: '4321', facility: 4, severity: 6, message: 'Accepted', fields: { 'meta.sequenceId': '17' } },
  ],
  [
    'Docker syslog driver, rfc5424',
    '<30>1 2026-11-22T10:00:00Z dockerhost 3f2a1b9c8d7e 812 3f2a1b9c8d7e - hello from the container',
    { timestamp: ns('2026-11-22T10:00:00Z'), host: 'dockerhost', app: '3f2a1b9c8d7e', procid: '812', msgid: '3f2a1b9c8d7e', facility: 3, severity: 6, message: 'hello from the container' },
  ],
  [
    'Docker syslog driver, rfc5424micro',
    '<30>1 2026-11-22T10:00:00.654321Z dockerhost web/3f2a1b 812 web/3f2a1b - GET /health 200',
    { timestamp: ns('2026-11-22T10:00:00.654Z', 321000), host: 'dockerhost', app: 'web/3f2a1b', procid: '812', msgid: 'web/3f2a1b', facility: 3, severity: 6, message: 'GET /health 200' },
  ],
  // verbatim from util-linux logger 2.38.1 and rsyslog 8.2302 (captured on this machine)
  [
    'captured: logger --rfc5424 -u <socket>',
    '<13>1 2026-11-22T15:31:10.106784+00:00 vm myapp - - [timeQuality tzKnown="1" isSynced="0"] hello 5424 local',
    { timestamp: ns('2026-11-22T15:31:10.106Z', 784000), host: 'vm', app: 'myapp', message: 'hello 5424 local', fields: { 'timeQuality.tzKnown': '1', 'timeQuality.isSynced': '0' } },
  ],
  [
    'captured: logger --rfc5424=notq,notime -n',
    '<13>1 - vm myapp - - - hello 5424 notime',
    { host: 'vm', app: 'myapp', message: 'hello 5424 notime' },
  ],
  [
    'captured: rsyslog RSYSLOG_SyslogProtocol23Format (MSG keeps its leading SP, trailing LF dropped)',
    '<157>1 2026-11-22T15:31:17.824080+00:00 vm captest 31523 - -  payload ünïcødé ok\n',
    { timestamp: ns('2026-11-22T15:31:17.824Z', 80000), host: 'vm', app: 'captest', procid: '31523', facility: 19, severity: 5, message: ' payload ünïcødé ok' },
  ],
  [
    'bench line',
    '<134>1 2026-11-22T10:00:00.000000Z bench-host ringlog-bench 4242 - [bench@32473 conn="3" seq="000000123"] lorem ipsum',
    { timestamp: ns('2026-11-22T10:00:00Z'), host: 'bench-host', app: 'ringlog-bench', procid: '4242', facility: 16, severity: 6, message: 'lorem ipsum', fields: { 'bench@32473.conn': '3', 'bench@32473.seq': '000000123' } },
  ],
];

/** Frames that must become raw records with this parse_error. */
const INVALID: [string, string][] = [
  ['', 'empty'],
  [' \t \r\n', 'empty'],
  ['\0\n', 'empty'],
  ['hello', 'invalid_pri'],
  ['1 - - - - - -', 'invalid_pri'],
  ['<192>1 - - - - - -', 'invalid_pri'],
  ['<>1 - - - - - -', 'invalid_pri'],
  ['<1234>1 - - - - - -', 'invalid_pri'],
  ['<1a>1 - - - - - -', 'invalid_pri'],
  ['<13', 'invalid_pri'],
  ['<13>', 'invalid_version'],
  ['<13> - - - - - -', 'invalid_version'],
  ['<13>x - - - - - -', 'invalid_version'],
  ['<13>1234 - - - - - -', 'invalid_version'],
  ['<13>1-', 'invalid_version'],
  ['<13>1', 'invalid_version'],
  ['<13>1 2026-13-01T00:00:00Z - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-02-29T00:00:00Z - - - - -', 'invalid_timestamp'],
  ['<13>1 1900-02-29T00:00:00Z - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-31T00:00:00Z - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22T24:00:00Z - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22T10:60:00Z - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22T10:00:00 - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22T10:00:00.Z - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22T10:00:00.1234567890Z - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22T10:00:00+24:00 - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22T10:00:00+01: - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22 10:00:00Z - - - - -', 'invalid_timestamp'],
  ['<13>1 2026-11-22T10:00:00Zx - - - - -', 'invalid_timestamp'],
  ['<13>1 Nov 22 10:00:00 - - - - -', 'invalid_timestamp'],
  ['<13>1 -x - - - - -', 'invalid_timestamp'],
  ['<13>1 -', 'invalid_header'],
  ['<13>1 2026-11-22T10:00:00Z', 'invalid_header'],
  ['<13>1 - host', 'invalid_header'],
  ['<13>1 - host app proc', 'invalid_header'],
  ['<13>1 -  host app - - -', 'invalid_header'],
  ['<13>1 - h\x01st app - - -', 'invalid_header'],
  ['<13>1 - hôst app - - -', 'invalid_header'],
  [`<13>1 - ${'h'.repeat(256)} app - - -`, 'invalid_header'],
  ['<13>1 - host app proc msgid', 'invalid_structured_data'],
  ['<13>1 - host app proc msgid ', 'invalid_structured_data'],
  ['<13>1 - - - - - x', 'invalid_structured_data'],
  ['<13>1 - - - - - -x', 'invalid_structured_data'],
  ['<13>1 - - - - - []', 'invalid_structured_data'],
  ['<13>1 - - - - - [id', 'invalid_structured_data'],
  ['<13>1 - - - - - [id a=b]', 'invalid_structured_data'],
  ['<13>1 - - - - - [id a="b]', 'invalid_structured_data'],
  ['<13>1 - - - - - [id a="b\\"]', 'invalid_structured_data'],
  ['<13>1 - - - - - [id a="b" ]', 'invalid_structured_data'],
  ['<13>1 - - - - - [id a = "b"]', 'invalid_structured_data'],
  ['<13>1 - - - - - [ a="b"]', 'invalid_structured_data'],
  ['<13>1 - - - - - [id ="b"]', 'invalid_structured_data'],
  ['<13>1 - - - - - [id a="b"]x', 'invalid_structured_data'],
  ['<13>1 - - - - - [a x="1"][b', 'invalid_structured_data'],
  ['<13>1 - - - - - [i"d a="b"]', 'invalid_structured_data'],
];

describe('parseRfc5424', () => {
  for (const [name, frame, want] of VALID) {
    it(name, () => expectRecord(parseOne(parseRfc5424, frame), want));
  }

  it('a SP after the SD starts MSG (so `[a x="1"] [b]` has the message "[b]")', () => {
    expectRecord(parseOne(parseRfc5424, '<13>1 - - - - - [a x="1"] [b]'), { message: '[b]', fields: { 'a.x': '1' } });
  });

  for (const [frame, reason] of INVALID) {
    it(`fails ${reason}: ${JSON.stringify(frame.length > 60 ? frame.slice(0, 60) + '…' : frame)}`, () => {
      const r = parseOne(parseRfc5424, frame);
      expectRecord(r, { message: frame.replace(/[\r\n\0]+$/, ''), fields: { parse_error: reason } });
      assert.ok((PARSE_ERROR_REASONS as readonly string[]).includes(reason));
    });
  }

  it('encodes escaped PARAM-VALUEs as ENC_SD and plain ones as ENC_UTF8, as ranges of the frame', () => {
    const frame = '<14>1 - - - - - [x a="plain" b="es\\"c" c="back\\slash"] m';
    const batch = parseBatch(parseRfc5424, [frame]);
    assert.deepEqual(Array.from(batch.fieldEnc), [ENC_UTF8, ENC_SD, ENC_SD]);
    const spans = Array.from(batch.fieldSpans);
    assert.equal(batch.buf.toString('utf8', spans[0], spans[1]), 'plain');
    assert.equal(batch.buf.toString('utf8', spans[2], spans[3]), 'es\\"c');
    assert.equal(batch.buf.toString('utf8', spans[4], spans[5]), 'back\\slash');
  });

  it('keeps the fields of each record of a batch apart, and drops those of a record that failed halfway', () => {
    const rs = parseAll(parseRfc5424, [
      '<14>1 - - - - - [a x="1"] one\n',
      '<14>1 - - - - - [b y="2"][c\n',
      '<14>1 - - - - - [d] three\n',
    ]);
    expectRecord(rs[0]!, { severity: 6, message: 'one', fields: { 'a.x': '1' } });
    expectRecord(rs[1]!, { message: '<14>1 - - - - - [b y="2"][c', fields: { parse_error: 'invalid_structured_data' } });
    expectRecord(rs[2]!, { severity: 6, message: 'three', fields: { d: '' } });
  });

  it('reuses key ids across records', () => {
    const batch = parseBatch(parseRfc5424, ['<14>1 - - - - - [a x="1"]', '<14>1 - - - - - [a x="2"]']);
    assert.equal(batch.fieldKey[0], batch.fieldKey[1]);
    assert.equal(batch.keys.strings[batch.fieldKey[0]!], 'a.x');
  });

  it('reads any RFC 3339 time with any offset and 0–9 fraction digits exactly', () => {
    const MIN = Date.UTC(1, 0, 2);
    const MAX = Date.UTC(9999, 11, 30);
    fc.assert(
      fc.property(
        fc.integer({ min: MIN, max: MAX }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: -1439, max: 1439 }), fc.integer({ min: 0, max: 9 }),
        (ms, subMs, offMin, digits) => {
          const local = new Date(ms + offMin * 60_000);
          const frac9 = (((ms % 1000) + 1000) % 1000) * 1_000_000 + subMs;
          const fracText = digits === 0 ? '' : '.' + String(frac9).padStart(9, '0').slice(0, digits);
          const abs = Math.abs(offMin);
          const off = offMin === 0 && digits % 2 === 0 ? 'Z' : `${offMin < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
          const text = `${String(local.getUTCFullYear()).padStart(4, '0')}-${pad2(local.getUTCMonth() + 1)}-${pad2(local.getUTCDate())}` +
            `T${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())}${fracText}${off}`;
          const truncated = digits === 0 ? 0 : Math.floor(frac9 / 10 ** (9 - digits)) * 10 ** (9 - digits);
          const expected = BigInt(Math.floor(ms / 1000) * 1000) * 1_000_000n + BigInt(truncated);
          const r = parseOne(parseRfc5424, `<14>1 ${text} - - - - -`);
          assert.deepEqual(r.fields, {}, text);
          assert.equal(r.timestamp, expected, text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws and keeps every range inside its frame, whatever the bytes (fast-check)', () => {
    checkTotal(parseRfc5424, [
      '', '<13>1 ', '<13>1 - ', '<13>1 2026-11-22T10:00:00.123+01:00 ', '<13>1 - h a p m ', '<13>1 - h a p m [x@1 a="', '<13>1 - - - - - [a b="c"]',
    ]);
  });
});

describe('SD names remembered from record to record', () => {
  // Names that share prefixes and places, so that a name cached for a place is often
  // a prefix of, or longer than, or equal to the next record's name there.
  const sdName = fc.constantFrom('a', 'ab', 'a@1', 'ex@32473', 'ex@324', 'x', 'seq', 'se', 'seq2', 'é', 'a"b', 'a=b', 'a]', '');
  const param = fc.tuple(sdName, fc.constantFrom('1', '', 'v\\"w', 'long value here'));
  const element = fc.tuple(sdName, fc.array(param, { maxLength: 4 }));
  const frame = fc.array(element, { minLength: 1, maxLength: 3 }).map((els) =>
    `<13>1 2026-11-22T09:30:00Z h a - - ${els.map(([id, ps]) => `[${id}${ps.map(([n, v]) => ` ${n}="${v}"`).join('')}]`).join('')} msg`);

  it('gives the same records in one batch as each frame parsed alone', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 12 }), (frames) => {
        const batch = parseAll(parseRfc5424, frames);
        frames.forEach((f, i) => assert.deepEqual(batch[i], parseOne(parseRfc5424, f), f));
      }),
      { numRuns: 1500 },
    );
  });

  it('a name that only starts like the remembered one is read in full', () => {
    const frames = [
      '<13>1 - h a - - [ex@1 seq="1"] m',
      '<13>1 - h a - - [ex@12 seqx="2"] m',
      '<13>1 - h a - - [ex@1 se="3"] m',
      '<13>1 - h a - - [ex@1 seq="4"][ex@1 seq="5"] m',
      '<13>1 - h a - - [ex@1 seq"6"] m',
    ];
    const r = parseAll(parseRfc5424, frames);
    assert.deepEqual(r[0]!.fields, { 'ex@1.seq': '1' });
    assert.deepEqual(r[1]!.fields, { 'ex@12.seqx': '2' });
    assert.deepEqual(r[2]!.fields, { 'ex@1.se': '3' });
    assert.deepEqual(r[3]!.fields, { 'ex@1.seq': '5' });
    assert.deepEqual(r[4]!.fields, { parse_error: 'invalid_structured_data' });
  });
});
