import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseRfc3164 } from './rfc3164.js';
import { parseRfc5424 } from './rfc5424.js';
import { BAD_PRI, NO_PRI, isBlank, localMs, parsePri, priStart, trimEnd } from './syslog-common.js';
import { checkTotal, expectRecord, local, type Want } from './syslog-test-helpers.js';
import { parseSyslog } from './syslog.js';
import { ns, parseAll, parseOne } from './test-helpers.js';

const CASES: [string, string, Want][] = [
  [
    'RFC 5424',
    '<134>1 2026-11-22T10:00:00.000000Z bench-host ringlog-bench 4242 - [bench@32473 conn="3" seq="000000123"] lorem',
    { timestamp: ns('2026-11-22T10:00:00Z'), host: 'bench-host', app: 'ringlog-bench', procid: '4242', facility: 16, severity: 6, message: 'lorem', fields: { 'bench@32473.conn': '3', 'bench@32473.seq': '000000123' } },
  ],
  ['RFC 5424, all NILVALUE', '<13>1 - - - - - -', {}],
  ['RFC 5424, a 3-digit version', '<13>100 - h - - - - m', { host: 'h', message: 'm' }],
  [
    'RFC 3164',
    '<134>Nov 22 10:00:00 bench-host ringlog-bench[4242]: conn=3 seq=000000123 lorem',
    { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'bench-host', app: 'ringlog-bench', procid: '4242', facility: 16, severity: 6, message: 'conn=3 seq=000000123 lorem' },
  ],
  [
    'RFC 3164 with an ISO date (digits, then not SP)',
    '<13>2026-11-22T10:00:00Z h a: x',
    { timestamp: ns('2026-11-22T10:00:00Z'), host: 'h', app: 'a', message: 'x' },
  ],
  [
    'Cisco sequence number (digits, then `:`)',
    '<189>123: *Nov 22 09:59:59.5 UTC: %SYS-5-CONFIG_I: Configured',
    { timestamp: ns('2026-11-22T09:59:59.500Z'), facility: 23, severity: 5, message: '%SYS-5-CONFIG_I: Configured' },
  ],
  ['no PRI → RFC 3164, user.notice', 'Nov 22 10:00:00 h a: x', { timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'a', message: 'x' }],
  ['no PRI, plain text', 'plain text', { message: 'plain text' }],
  ['PRI only', '<14>', { severity: 6 }],
  ['PRI and text', '<14>hello', { severity: 6, message: 'hello' }],
  ['leading spaces before the PRI', '  <14>1 - - - - - - m', { severity: 6, message: 'm' }],
  ['RFC 5424 with a trailing LF', '<14>1 - - - - - - m\n', { severity: 6, message: 'm' }],
];

const INVALID: [string, string][] = [
  ['', 'empty'],
  [' \r\n', 'empty'],
  ['<200>1 - - - - - -', 'invalid_pri'],
  ['<x>hello', 'invalid_pri'],
  ['<13>1 hello', 'invalid_timestamp'],
  ['<13>1 - h', 'invalid_header'],
  ['<13>1 - - - - - [x', 'invalid_structured_data'],
];

describe('parseSyslog', () => {
  for (const [name, frame, want] of CASES) {
    it(name, () => expectRecord(parseOne(parseSyslog, frame), want));
  }
  for (const [frame, reason] of INVALID) {
    it(`fails ${reason}: ${JSON.stringify(frame)}`, () => {
      expectRecord(parseOne(parseSyslog, frame), { message: frame.replace(/[\r\n\0]+$/, ''), fields: { parse_error: reason } });
    });
  }

  it('parses a mixed batch, each frame as its own kind', () => {
    const frames = ['<14>1 - h a - - [x y="1"] five\n', '<14>Nov 22 10:00:00 h a[1]: bsd\n', '<99999>x\n', 'raw\n'];
    const rs = parseAll(parseSyslog, frames);
    expectRecord(rs[0]!, { severity: 6, host: 'h', app: 'a', message: 'five', fields: { 'x.y': '1' } });
    expectRecord(rs[1]!, { severity: 6, timestamp: local(2026, 11, 22, 10, 0, 0), host: 'h', app: 'a', procid: '1', message: 'bsd' });
    expectRecord(rs[2]!, { message: '<99999>x', fields: { parse_error: 'invalid_pri' } });
    expectRecord(rs[3]!, { message: 'raw' });
  });

  it('agrees with the specific parser it picks (fast-check)', () => {
    const frames = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 191 }), fc.constantFrom('1 - h a p m - msg', '1 2026-11-22T10:00:00.5+01:00 - - - - [a b="c"]', '1 x')).map(([p, r]) => `<${p}>${r}`),
      fc.tuple(fc.integer({ min: 0, max: 191 }), fc.constantFrom('Nov 22 10:00:00 h a: m', '12: *Mar  1 18:46:11.1 UTC: %X', 'text', '2026-11-22T10:00:00 h a[1]: m')).map(([p, r]) => `<${p}>${r}`),
    );
    fc.assert(
      fc.property(frames, (f) => {
        const specific = /^<\d+>\d{1,3} /.test(f) ? parseRfc5424 : parseRfc3164;
        assert.deepEqual(parseOne(parseSyslog, f), parseOne(specific, f));
      }),
    );
  });

  it('never throws and keeps every range inside its frame, whatever the bytes (fast-check)', () => {
    checkTotal(parseSyslog, ['', '<13>', '<13>1 ', '<13>1 - - - - - [a b="', '<13>Nov 22 10:00:00 ', '<189>1: .Mar 1 10:00:00']);
  });
});

describe('syslog-common', () => {
  const b = (s: string): Buffer => Buffer.from(s, 'latin1');

  it('parsePri: value and length, or NO_PRI / BAD_PRI', () => {
    const cases: [string, number][] = [
      ['<0>', 0 | (3 << 8)],
      ['<13>x', 13 | (4 << 8)],
      ['<191>', 191 | (5 << 8)],
      ['<007>', 7 | (5 << 8)],
      ['13>', NO_PRI],
      ['', NO_PRI],
      ['<192>', BAD_PRI],
      ['<>', BAD_PRI],
      ['<1', BAD_PRI],
      ['<1234>', BAD_PRI],
      ['<-1>', BAD_PRI],
      ['<1 >', BAD_PRI],
    ];
    for (const [text, want] of cases) assert.equal(parsePri(b(text), 0, text.length), want, text);
    // the end bounds the PRI even when the buffer goes on
    assert.equal(parsePri(b('<13>'), 0, 3), BAD_PRI);
  });

  it('trimEnd, isBlank, priStart', () => {
    assert.equal(trimEnd(b('ab\r\n\0\n'), 0, 6), 2);
    assert.equal(trimEnd(b('\n\n'), 0, 2), 0);
    assert.equal(trimEnd(b('a b '), 0, 4), 4);
    assert.equal(isBlank(b(' \t\r\n\0\v\f'), 0, 7), true);
    assert.equal(isBlank(b(' x '), 0, 3), false);
    assert.equal(isBlank(b(''), 0, 0), true);
    assert.equal(priStart(b(' \t<13>'), 0, 6), 2);
    assert.equal(priStart(b('  x'), 0, 3), 0);
  });

  it('localMs equals new Date(y, m - 1, d, h, mi, s) in this time zone (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), (y, m, d, h, mi, s) => {
          assert.equal(localMs(y, m, d, h, mi, s), new Date(y, m - 1, d, h, mi, s).getTime());
        }),
      { numRuns: 5000 },
    );
    // times all through a year (every 29 min 7 s), across any DST transitions of this zone
    for (let t = new Date(2026, 0, 1).getTime(); t < new Date(2027, 0, 1).getTime(); t += 29 * 60_000 + 7_000) {
      const d = new Date(t);
      const want = new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()).getTime();
      assert.equal(localMs(d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()), want);
    }
  });

  it('localMs handles years before 100 (no 1900 mapping)', () => {
    const d = new Date(2000, 0, 1);
    d.setFullYear(50, 5, 15);
    d.setHours(12, 30, 15, 0);
    assert.equal(localMs(50, 6, 15, 12, 30, 15), d.getTime());
  });
});
