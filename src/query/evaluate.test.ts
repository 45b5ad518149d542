/**
 * The reference semantics (evaluate.ts) on hand-built records, one table per construct,
 * queries written as text (parser.ts) so each row reads like what a user types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LogRecord } from '../record/record.js';
import { tokensOf } from '../store/tokenizer.js';
import type { Node } from './ast.js';
import { asciiLower, compileGlob, globMatches, matches, strictNumber, textTokens, wordsOccur } from './evaluate.js';
import { parseQuery } from './parser.js';

/** 2026-12-02T12:00:00Z */
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const NOW_NS = BigInt(NOW) * 1_000_000n;

function rec(over: Partial<LogRecord> = {}): LogRecord {
  return {
    timestamp: NOW_NS,
    received: NOW_NS,
    host: 'web-1',
    app: 'nginx',
    procid: '4242',
    msgid: null,
    facility: 16,
    severity: 3,
    message: 'GET /api/v1/orders 200',
    fields: {},
    source: { listener: 'tcp-1', transport: 'tcp', peer: '10.0.0.7:51234' },
    ...over,
  };
}

const q = (text: string): Node => parseQuery(text, { now: NOW }).root;

/** Each row: query, record, expected. */
function check(rows: [string, LogRecord, boolean][]): void {
  for (const [query, r, want] of rows) {
    assert.equal(matches(q(query), r), want, `${query} on ${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
  }
}

test('words: ASCII case-insensitive, at token boundaries where the text has token characters', () => {
  const m = (message: string) => rec({ message });
  check([
    ['error', m('an error occurred'), true],
    ['ERROR', m('an error occurred'), true],
    ['error', m('Error: boom'), true],
    ['err', m('an error occurred'), false],
    ['rror', m('an error occurred'), false],
    ['error', m('errors'), false],
    ['api', m('GET /api/v1'), true],
    ['v1', m('GET /api/v1'), true],
    ['"/api/v1"', m('GET /api/v1/orders'), true],
    ['"api/v"', m('GET /api/v1/orders'), false],
    ['"disk full"', m('Disk Full!'), true],
    ['"disk full"', m('disk  full'), false],
    ['"disk full"', m('the disk fullness'), false],
    ['"-v1"', m('api-v1'), true], // starts with '-': no boundary needed before it
    ['"/"', m('a/b'), true],
    ['user_id', m('user_id=42'), true],
    ['user', m('user_id=42'), false], // '_' is a token character
    ['42', m('user_id=42'), true],
    ['42', m('4242'), false],
    ['""', m(''), true],
    ['x', m(''), false],
    // Only ASCII folds: Ä is not Ä's lower case for the index either.
    ['ärger', m('Ärger'), false],
    ['ÄRGER', m('ärger'), false],
    ['ärger', m('großer ärger!'), true],
    ['Ärger', m('ÄRGER'), true], // Ä on both sides, RGER folds
    ['größe', m('Größe'), true], // only the G differs, and it is ASCII
    ['größe', m('GRÖßE'), false],
    ['gro', m('größe'), false], // 'ö' is a token character
    ['zürich', m('ZüRICH'), true],
    ['"日本"', m('日本語'), false], // one token: no boundary inside
    ['日本語', m('ログ 日本語 ok'), true],
    ['emoji', m('emoji🔥fire'), false],
  ]);
});

test('a bare term searches the message and every field value, not host/app/procid/msgid/source', () => {
  check([
    ['timeout', rec({ message: 'x', fields: { error: 'read timeout' } }), true],
    ['timeout', rec({ message: 'x', fields: { timeout: 'yes' } }), false], // keys are not searched
    ['web', rec({ message: 'x', host: 'web' }), false],
    ['nginx', rec({ message: 'x' }), false],
    ['4242', rec({ message: 'x' }), false],
    ['tcp', rec({ message: 'x' }), false],
    ['/time?out/', rec({ message: 'x', fields: { a: '1', b: 'timeout' } }), true],
    ['tim*', rec({ message: 'x', fields: { b: 'a TIMEOUT' } }), true],
    ['message:timeout', rec({ message: 'x', fields: { e: 'timeout' } }), false],
    ['message:timeout', rec({ message: 'a timeout' }), true],
  ]);
});

test('glob on text: some token matches as a whole, ASCII case-insensitively', () => {
  const m = (message: string) => rec({ message });
  check([
    ['err*', m('ERRORS found'), true],
    ['err*', m('an err'), true],
    ['err*', m('xerror'), false],
    ['*ror', m('Error'), true],
    ['e?ror', m('error'), true],
    ['e?ror', m('eror'), false],
    ['*', m(''), true], // the whole store
    ['**', m('  '), false], // no token at all
    ['**', m(' a '), true],
    ['a*b', m('a-b'), false], // '-' splits tokens
    ['a*b', m('a_x_b'), true],
    ['ä*', m('Ärger'), false],
    ['ä*', m('ärger'), true],
    ['?rger', m('ärger'), true], // '?' is one character, not one byte
    ['🔥?', m('x🔥y'), false],
    ['x🔥?', m('x🔥y'), true],
    ['a\\*b*', m('a*bc'), false], // a token never holds '*'
    ['message:ord*', m('GET /api/v1/orders'), true],
    ['message:/ORDERS/i', m('GET /api/v1/orders'), true],
    ['message:/ORDERS/', m('GET /api/v1/orders'), false],
    ['message:/^GET/', m('GET /api/v1/orders'), true],
    ['message:/v1\\/orders/', m('GET /api/v1/orders'), true],
    ['/a.b/s', m('a\nb'), true],
    ['/a.b/', m('a\nb'), false],
  ]);
});

test('slots, fields, sources: exact, glob and regex on the whole value, case-sensitive; missing never matches', () => {
  check([
    ['host:web-1', rec(), true],
    ['host:WEB-1', rec(), false],
    ['host:web', rec(), false],
    ['host:web*', rec(), true],
    ['host:WEB*', rec(), false],
    ['host:*-1', rec(), true],
    ['host:web-?', rec(), true],
    ['host:web?', rec(), false],
    ['host:/eb-/', rec(), true],
    ['host:/^eb/', rec(), false],
    ['host:*', rec(), true],
    ['host:*', rec({ host: null }), false],
    ['host:x*', rec({ host: null }), false],
    ['host:/.*/', rec({ host: null }), false],
    ['-host:web-1', rec({ host: null }), true],
    ['host:""', rec({ host: '' }), true],
    ['host:*', rec({ host: '' }), true], // present, even if empty
    ['msgid:*', rec(), false],
    ['app:nginx procid:4242', rec(), true],
    ['pid:42', rec(), false],
    ['user_id:42', rec({ fields: { user_id: '42' } }), true],
    ['user_id:42', rec({ fields: { user_id: '420' } }), false],
    ['user_id:42', rec({ fields: {} }), false],
    ['user_id:*', rec({ fields: { user_id: '' } }), true],
    ['user_id:*', rec({ fields: { other: '1' } }), false],
    ['User_ID:42', rec({ fields: { user_id: '42' } }), false], // field names are case-sensitive
    ['fields.req.id:7', rec({ fields: { 'req.id': '7' } }), true],
    ['"odd key":"a b"', rec({ fields: { 'odd key': 'a b' } }), true],
    ['fields.host:web-1', rec(), false],
    ['toString:*', rec(), false], // not an inherited property
    ['__proto__:*', rec(), false],
    // A value starting with '/' is a regex: quote or escape a path.
    ['path:"/api/v1/orders"', rec({ fields: { path: '/api/v1/orders' } }), true],
    ['path:\\/api/*', rec({ fields: { path: '/api/v1/orders' } }), true],
    ['listener:tcp-1 transport:tcp', rec(), true],
    ['transport:udp', rec(), false],
    ['peer:10.0.0.7*', rec(), true],
    ['peer:*', rec(), true],
  ]);
});

test('severity and facility: levels, lists, comparisons', () => {
  check([
    ['severity:err', rec({ severity: 3 }), true],
    ['severity:error', rec({ severity: 3 }), true],
    ['severity:warn', rec({ severity: 3 }), false],
    ['severity:(warn OR err)', rec({ severity: 3 }), true],
    ['severity:(warn OR crit)', rec({ severity: 3 }), false],
    ['severity<=err', rec({ severity: 2 }), true],
    ['severity<=err', rec({ severity: 3 }), true],
    ['severity<=err', rec({ severity: 4 }), false],
    ['severity<err', rec({ severity: 3 }), false],
    ['severity>=warning', rec({ severity: 7 }), true],
    ['severity>info', rec({ severity: 6 }), false],
    ['facility:local0', rec({ facility: 16 }), true],
    ['facility>local0', rec({ facility: 16 }), false],
    ['facility>=local0', rec({ facility: 23 }), true],
    ['facility:kern', rec({ facility: 0 }), true],
  ]);
});

test('numeric comparisons on fields: strict decimal numbers; anything else does not match', () => {
  const f = (status: string) => rec({ fields: { status } });
  check([
    ['status>=500', f('500'), true],
    ['status>=500', f('503'), true],
    ['status>=500', f('499'), false],
    ['status>500', f('500'), false],
    ['status<500', f('-1'), true],
    ['status<=500', f('500.0'), true],
    ['status>=500', f('5e2'), true],
    ['status>100.5', f('100.6'), true],
    ['status>100.5', f('100.5'), false],
    ['status<1', f('.5'), true],
    ['status<1', f('+0'), true],
    ['status>=0', f(''), false],
    ['status>=0', f(' 1'), false],
    ['status>=0', f('1 '), false],
    ['status>=0', f('0x10'), false],
    ['status>=0', f('Infinity'), false],
    ['status<=0', f('-Infinity'), false],
    ['status>=0', f('1e999'), false],
    ['status>=0', f('1_000'), false],
    ['status>=0', f('NaN'), false],
    ['status>=0', rec({ fields: {} }), false],
    ['-status>=500', rec({ fields: {} }), true],
    ['status:[400 TO 499]', f('404'), true],
    ['status:[400 TO 499]', f('499'), true],
    ['status:[400 TO 499}', f('499'), false],
    ['status:{400 TO 499]', f('400'), false],
    ['status:[400 TO *]', f('9999'), true],
  ]);
});

test('time: from inclusive, to exclusive, exact to the ns', () => {
  const at = (iso: string, extraNs = 0n) => rec({ timestamp: BigInt(Date.parse(iso)) * 1_000_000n + extraNs });
  check([
    ['time:1h', at('2026-12-02T11:30:00Z'), true],
    ['time:1h', at('2026-12-02T11:00:00Z'), true],
    ['time:1h', at('2026-12-02T11:00:00Z', -1n), false],
    ['time:1h', at('2026-12-03T00:00:00Z'), true], // open end
    ['time:>=2026-12-02T10:00:00Z', at('2026-12-02T10:00:00Z'), true],
    ['time:>2026-12-02T10:00:00Z', at('2026-12-02T10:00:00Z'), false],
    ['time:>2026-12-02T10:00:00Z', at('2026-12-02T10:00:00Z', 1n), true],
    ['time:<2026-12-02', at('2026-12-02T00:00:00Z'), false],
    ['time:<2026-12-02', at('2026-12-02T00:00:00Z', -1n), true],
    ['time:<=2026-12-02', at('2026-12-02T00:00:00Z'), true],
    ['time:<=2026-12-02', at('2026-12-02T00:00:00Z', 1n), false],
    ['time:2026-12-02', at('2026-12-02T23:59:59Z', 999_999_999n), true],
    ['time:2026-12-02', at('2026-12-03T00:00:00Z'), false],
    ['time:[2026-12-02T10:00:00Z TO 2026-12-02T11:00:00Z]', at('2026-12-02T11:00:00Z'), true],
    ['time:[2026-12-02T10:00:00Z TO 2026-12-02T11:00:00Z}', at('2026-12-02T11:00:00Z'), false],
    ['time:{2026-12-02T10:00:00Z TO *]', at('2026-12-02T10:00:00Z'), false],
    ['time:[* TO *]', at('1970-01-01T00:00:00Z'), true],
    ['time:>=2026-12-02T10:00:00.000000001Z', at('2026-12-02T10:00:00Z'), false],
  ]);
});

test('boolean structure', () => {
  const r = rec({ message: 'disk full on /var', fields: { status: '500' } });
  check([
    ['*', r, true],
    ['-*', r, false],
    ['disk full', r, true],
    ['disk nope', r, false],
    ['disk OR nope', r, true],
    ['nope OR nada', r, false],
    ['-nope', r, true],
    ['-disk', r, false],
    ['NOT (disk nope)', r, true],
    ['(nope OR var) status>=500', r, true],
    ['host:web-1 (error OR full) -fields.status:200 time:1h', r, true],
  ]);
  // Hand-built nodes the parser does not produce (empty and/or) have the usual meaning.
  assert.equal(matches({ kind: 'and', items: [] }, r), true);
  assert.equal(matches({ kind: 'or', items: [] }, r), false);
});

test('helpers: strictNumber, asciiLower, textTokens agree with the store tokenizer', () => {
  for (const [t, want] of [['42', 42], ['-1.5', -1.5], ['1.', 1], ['.5', 0.5], ['2E3', 2000], ['', null], [' 1', null], ['1e', null], ['0x1', null], ['Infinity', null], ['--1', null]] as const) {
    assert.equal(strictNumber(t), want, t);
  }
  assert.equal(asciiLower('ÄBC İx'), 'Äbc İx');
  // Same tokens as the block index (which lowers them).
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
      assert.deepEqual(textTokens(s).map(asciiLower), tokensOf(s));
    }),
    { numRuns: 500 },
  );
  // A token found as a word is found by a glob of itself, and by a regex of itself.
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', 'B', '_', '1', ' ', '-', 'ä', '/'), maxLength: 20 }), (s) => {
      for (const t of textTokens(s)) {
        assert.ok(wordsOccur(asciiLower(t), s), `${t} in ${s}`);
        assert.ok(globMatches(compileGlob(t, true), Array.from(asciiLower(t), (c) => c.codePointAt(0)!)));
      }
    }),
    { numRuns: 300 },
  );
});
