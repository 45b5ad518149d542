/**
 * The query parser: queries → AST (a table), bad queries → where and what was expected
 * (a table), no input throws anything but QuerySyntaxError, and formatQuery prints
 * text that parses back to the same AST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FieldRef, Match, Node } from './ast.js';
import { MAX_QUERY_DEPTH, QuerySyntaxError, formatQuery, formatSyntaxError, parseQuery } from './parser.js';

/** 2026-12-02T12:00:00Z */
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const NOW_NS = BigInt(NOW) * 1_000_000n;
const S = 1_000_000_000n;
const DAY = 86_400n * S;
/** 2026-12-02T00:00:00Z in ns */
const D2 = BigInt(Date.UTC(2026, 11, 2)) * 1_000_000n;

const parse = (q: string): Node => parseQuery(q, { now: NOW }).root;

const w = (text: string): Node => ({ kind: 'match', field: null, match: { kind: 'words', text } });
const on = (field: FieldRef, match: Match): Node => ({ kind: 'match', field, match });
const fld = (name: string): FieldRef => ({ kind: 'field', name });
const host: FieldRef = { kind: 'slot', name: 'host' };
const msg: FieldRef = { kind: 'message' };
const exact = (value: string): Match => ({ kind: 'exact', value });
const glob = (pattern: string): Match => ({ kind: 'glob', pattern });
const regex = (source: string, flags = ''): Match => ({ kind: 'regex', source, flags });
const and = (...items: Node[]): Node => ({ kind: 'and', items });
const or = (...items: Node[]): Node => ({ kind: 'or', items });
const not = (item: Node): Node => ({ kind: 'not', item });
const ALL: Node = { kind: 'all' };

test('queries → AST', () => {
  const cases: [string, Node][] = [
    // the whole store
    ['', ALL],
    ['   \t\n', ALL],
    ['*', ALL],
    // bare terms
    ['error', w('error')],
    ['"disk full"', w('disk full')],
    ['"say \\"hi\\" \\\\o/"', w('say "hi" \\o/')],
    ['""', w('')],
    ['err*', { kind: 'match', field: null, match: glob('err*') }],
    ['user?id', { kind: 'match', field: null, match: glob('user?id') }],
    ['/time ?out/i', { kind: 'match', field: null, match: regex('time ?out', 'i') }],
    ['/a\\/b\\d/msu', { kind: 'match', field: null, match: regex('a/b\\d', 'msu') }],
    ['web-1', w('web-1')],
    ['a"b', w('a"b')],
    ['[brackets]', w('[brackets]')],
    ['foo\\*bar', w('foo*bar')],
    ['a\\*b*', { kind: 'match', field: null, match: glob('a\\*b*') }],
    ['a\\:b\\(c\\)', w('a:b(c)')],
    ['http\\://x', w('http://x')],
    ['\\-5', w('-5')],
    ['"*"', w('*')],
    ['"AND"', w('AND')],
    ['ärger', w('ärger')],
    // boolean structure
    ['a b', and(w('a'), w('b'))],
    ['a AND b', and(w('a'), w('b'))],
    ['a OR b', or(w('a'), w('b'))],
    ['a b OR c', or(and(w('a'), w('b')), w('c'))],
    ['a OR b c', or(w('a'), and(w('b'), w('c')))],
    ['a AND b OR c AND d', or(and(w('a'), w('b')), and(w('c'), w('d')))],
    ['a (b OR c)', and(w('a'), or(w('b'), w('c')))],
    ['(a b) (c d)', and(w('a'), w('b'), w('c'), w('d'))],
    ['(a OR b) OR (c OR d)', or(w('a'), w('b'), w('c'), w('d'))],
    ['((a))', w('a')],
    ['-a', not(w('a'))],
    ['!a', not(w('a'))],
    ['NOT a', not(w('a'))],
    ['a NOT b', and(w('a'), not(w('b')))],
    ['-a OR b', or(not(w('a')), w('b'))],
    ['NOT NOT a', not(not(w('a')))],
    ['--a', not(not(w('a')))],
    ['-(a OR b)', not(or(w('a'), w('b')))],
    ['foo(bar)', and(w('foo'), w('bar'))],
    ['and or not', and(w('and'), w('or'), w('not'))],
    ['-*', not(ALL)],
    ['a *', and(w('a'), ALL)],
    // fields
    ['host:web-1', on(host, exact('web-1'))],
    ['HOSTNAME:web-1', on(host, exact('web-1'))],
    ['app:nginx appname:x', and(on({ kind: 'slot', name: 'app' }, exact('nginx')), on({ kind: 'slot', name: 'app' }, exact('x')))],
    ['pid:42', on({ kind: 'slot', name: 'procid' }, exact('42'))],
    ['procid:42', on({ kind: 'slot', name: 'procid' }, exact('42'))],
    ['msgid:ID47', on({ kind: 'slot', name: 'msgid' }, exact('ID47'))],
    ['host:"web 1"', on(host, exact('web 1'))],
    ['host:web*', on(host, glob('web*'))],
    ['host:/^web-\\d+$/', on(host, regex('^web-\\d+$'))],
    ['host:*', on(host, { kind: 'exists' })],
    ['host:"*"', on(host, exact('*'))],
    ['host:a:b<c>', on(host, exact('a:b<c>'))],
    ['host:OR', on(host, exact('OR'))],
    ['message:disk', on(msg, { kind: 'words', text: 'disk' })],
    ['msg:"disk full"', on(msg, { kind: 'words', text: 'disk full' })],
    ['message:err*', on(msg, glob('err*'))],
    ['message:/x/', on(msg, regex('x'))],
    ['message:*', ALL],
    ['listener:tcp-1 transport:udp peer:"[::1]:514"', and(
      on({ kind: 'source', name: 'listener' }, exact('tcp-1')),
      on({ kind: 'source', name: 'transport' }, exact('udp')),
      on({ kind: 'source', name: 'peer' }, exact('[::1]:514')),
    )],
    ['user_id:42', on(fld('user_id'), exact('42'))],
    ['User_ID:42', on(fld('User_ID'), exact('42'))],
    ['fields.req.id:7', on(fld('req.id'), exact('7'))],
    ['fields.host:x', on(fld('host'), exact('x'))],
    ['FIELDS.Host:x', on(fld('Host'), exact('x'))],
    ['@timestamp:x', on(fld('@timestamp'), exact('x'))],
    ['exampleSDID@32473.iut:3', on(fld('exampleSDID@32473.iut'), exact('3'))],
    ['"odd key":v', on(fld('odd key'), exact('v'))],
    ['"host":v', on(fld('host'), exact('v'))],
    ['odd\\ key:v', on(fld('odd key'), exact('v'))],
    ['größe:3', on(fld('größe'), exact('3'))],
    ['-host:a', not(on(host, exact('a')))],
    ['(host:a OR host:b) c', and(or(on(host, exact('a')), on(host, exact('b'))), w('c'))],
    // severity and facility
    ['severity:err', { kind: 'level', field: { kind: 'severity' }, values: [3] }],
    ['level:ERROR', { kind: 'level', field: { kind: 'severity' }, values: [3] }],
    ['sev:3', { kind: 'level', field: { kind: 'severity' }, values: [3] }],
    ['severity:warn', { kind: 'level', field: { kind: 'severity' }, values: [4] }],
    ['severity:"info"', { kind: 'level', field: { kind: 'severity' }, values: [6] }],
    ['severity:(err OR crit)', { kind: 'level', field: { kind: 'severity' }, values: [3, 2] }],
    ['severity:( err OR 7 OR warning )', { kind: 'level', field: { kind: 'severity' }, values: [3, 7, 4] }],
    ['severity:*', ALL],
    ['facility:local0', { kind: 'level', field: { kind: 'facility' }, values: [16] }],
    ['facility:solaris-cron', { kind: 'level', field: { kind: 'facility' }, values: [15] }],
    ['facility:23', { kind: 'level', field: { kind: 'facility' }, values: [23] }],
    ['severity<=err', { kind: 'compare', field: { kind: 'severity' }, op: '<=', value: 3 }],
    ['severity<3', { kind: 'compare', field: { kind: 'severity' }, op: '<', value: 3 }],
    ['severity>=warning', { kind: 'compare', field: { kind: 'severity' }, op: '>=', value: 4 }],
    ['severity:<=crit', { kind: 'compare', field: { kind: 'severity' }, op: '<=', value: 2 }],
    ['facility>local0', { kind: 'compare', field: { kind: 'facility' }, op: '>', value: 16 }],
    ['severity:[warning TO err]', and(
      { kind: 'compare', field: { kind: 'severity' }, op: '>=', value: 4 },
      { kind: 'compare', field: { kind: 'severity' }, op: '<=', value: 3 },
    )],
    // numeric comparisons
    ['fields.status>=500', { kind: 'compare', field: fld('status'), op: '>=', value: 500 }],
    ['duration_ms>100.5', { kind: 'compare', field: fld('duration_ms'), op: '>', value: 100.5 }],
    ['status:>=500', { kind: 'compare', field: fld('status'), op: '>=', value: 500 }],
    ['x<-1e3', { kind: 'compare', field: fld('x'), op: '<', value: -1000 }],
    ['x<=.5', { kind: 'compare', field: fld('x'), op: '<=', value: 0.5 }],
    ['"odd key">1', { kind: 'compare', field: fld('odd key'), op: '>', value: 1 }],
    ['status:[400 TO 499]', and(
      { kind: 'compare', field: fld('status'), op: '>=', value: 400 },
      { kind: 'compare', field: fld('status'), op: '<=', value: 499 },
    )],
    ['a status:{400 TO 500}', and(
      w('a'),
      { kind: 'compare', field: fld('status'), op: '>', value: 400 },
      { kind: 'compare', field: fld('status'), op: '<', value: 500 },
    )],
    ['status:[400 TO *]', { kind: 'compare', field: fld('status'), op: '>=', value: 400 }],
    ['status:[* TO *]', on(fld('status'), { kind: 'exists' })],
    // time
    ['time:1h', { kind: 'time', from: NOW_NS - 3600n * S, to: null }],
    ['_time:15m', { kind: 'time', from: NOW_NS - 900n * S, to: null }],
    ['time:500ms', { kind: 'time', from: NOW_NS - 500_000_000n, to: null }],
    ['time:1.5h', { kind: 'time', from: NOW_NS - 5400n * S, to: null }],
    ['time:1w', { kind: 'time', from: NOW_NS - 7n * DAY, to: null }],
    ['time:2026-12-02', { kind: 'time', from: D2, to: D2 + DAY }],
    ['time:*', ALL],
    ['time:>=2026-12-02T10:00:00Z', { kind: 'time', from: D2 + 36000n * S, to: null }],
    ['time>=2026-12-02T10:00:00Z', { kind: 'time', from: D2 + 36000n * S, to: null }],
    ['time:>2026-12-02T10:00:00Z', { kind: 'time', from: D2 + 36000n * S + 1n, to: null }],
    ['time:<2026-12-02', { kind: 'time', from: null, to: D2 }],
    ['time:<=2026-12-02', { kind: 'time', from: null, to: D2 + 1n }],
    ['time:>=2026-12-02T10:00:00.123456789Z', { kind: 'time', from: D2 + 36000n * S + 123_456_789n, to: null }],
    ['time:>=2026-12-02T10:00:00.5', { kind: 'time', from: D2 + 36000n * S + 500_000_000n, to: null }],
    ['time:>=2026-12-02T11:00:00+01:00', { kind: 'time', from: D2 + 36000n * S, to: null }],
    ['time:>=2026-12-02T05:00-0500', { kind: 'time', from: D2 + 36000n * S, to: null }],
    ['time:>=1796205600000', { kind: 'time', from: D2 + 36000n * S, to: null }],
    // Epoch ms with a fraction down to the ns.
    ['time:>=1796205600000.5', { kind: 'time', from: D2 + 36000n * S + 500_000n, to: null }],
    ['time:<1796205600000.000001', { kind: 'time', from: null, to: D2 + 36000n * S + 1n }],
    ['time:>=now', { kind: 'time', from: NOW_NS, to: null }],
    ['time:>=now-15m', { kind: 'time', from: NOW_NS - 900n * S, to: null }],
    ['time:<now+1d', { kind: 'time', from: null, to: NOW_NS + DAY }],
    ['time:[2026-12-02 TO 2026-12-03]', { kind: 'time', from: D2, to: D2 + DAY + 1n }],
    ['time:{2026-12-02 TO 2026-12-03}', { kind: 'time', from: D2 + 1n, to: D2 + DAY }],
    ['time:[2026-12-02 TO 2026-12-03}', { kind: 'time', from: D2, to: D2 + DAY }],
    ['time:[ now-1h TO * ]', { kind: 'time', from: NOW_NS - 3600n * S, to: null }],
    ['time:[* TO now]', { kind: 'time', from: null, to: NOW_NS + 1n }],
    ['time:[1969-12-31T23:59:59Z TO 0000-01-01T00:00:00Z]', { kind: 'time', from: -S, to: -62_167_219_200n * S + 1n }],
    // everything at once
    ['host:web-1 (error OR timeout) -fields.status:200 time:1h', and(
      on(host, exact('web-1')),
      or(w('error'), w('timeout')),
      not(on(fld('status'), exact('200'))),
      { kind: 'time', from: NOW_NS - 3600n * S, to: null },
    )],
  ];
  for (const [q, want] of cases) {
    let got: Node;
    try {
      got = parse(q);
    } catch (e) {
      assert.fail(`${JSON.stringify(q)}: ${(e as Error).message}`);
    }
    assert.deepEqual(got, want, JSON.stringify(q));
    // Every one of these prints to text that parses back to it.
    assert.deepEqual(parse(formatQuery(got)), want, `${JSON.stringify(q)} → ${formatQuery(got)}`);
  }
});

test('bad queries: the position and what was expected there', () => {
  const deep = '('.repeat(MAX_QUERY_DEPTH + 1) + 'x' + ')'.repeat(MAX_QUERY_DEPTH + 1);
  const cases: [string, number, string][] = [
    ['(a', 2, "')'"],
    ['host:web-1 (error OR', 20, "a term after 'OR'"],
    ['(a b c d e f g', 14, "')'"],
    ['a)', 1, 'end of query'],
    [')', 0, 'a term'],
    ['()', 1, "a term after '('"],
    ['host:', 5, "a value after ':'"],
    ['host: web', 5, "a value after ':'"],
    ['(host:)', 6, "a value after ':'"],
    ['"disk full', 10, `'"' to close the quote at 0`],
    ['"a"b', 3, `a space, '(' or ')' after the closing '"'`],
    ['host:"a"b', 8, `a space, '(' or ')' after the closing '"'`],
    ['/abc', 4, "'/' to close the regex at 0"],
    ['/a/v1', 3, 'regex flags i, m, s, u (each once)'],
    ['/a/ii', 4, 'regex flags i, m, s, u (each once)'],
    ['/a/g', 3, 'regex flags i, m, s, u (each once)'],
    ['/a/i:', 4, "a space, '(' or ')' after the regex"],
    ['x /(/', 2, 'a valid regular expression'],
    ['host:/[/', 5, 'a valid regular expression'],
    ['http://x', 5, 'a regex pattern between the slashes'],
    ['a\\', 2, "a character after '\\'"],
    ['a -', 3, "a term after '-'"],
    ['- a', 1, "a term after '-'"],
    ['(a !)', 4, "a term after '!'"],
    ['NOT', 3, "a term after 'NOT'"],
    ['AND a', 0, 'a term'],
    ['a AND', 5, "a term after 'AND'"],
    ['a OR OR b', 5, "a term after 'OR'"],
    [':a', 0, 'a term'],
    ['a >5', 2, 'a term'],
    ['a/b:c', 1, "a field name (letters, digits, _ . - @) before ':'"],
    ['a*:c', 1, "a field name (letters, digits, _ . - @) before ':'"],
    ['"":c', 0, 'a field name'],
    ['fields.:c', 7, "a field name after 'fields.'"],
    ['severity:foo', 9, 'a severity'],
    ['severity:8', 9, 'a severity'],
    ['severity<=oops', 10, 'a severity'],
    ['facility:local8', 9, 'a facility'],
    ['facility:24', 9, 'a facility'],
    ['severity:err*', 9, 'a severity'],
    ['severity:(err crit)', 14, "'OR' or ')' to close the '(' at 9"],
    ['severity:(err OR', 16, 'a severity'],
    ['severity:(err', 13, "'OR' or ')' to close the '(' at 9"],
    ['host:(a OR b)', 5, "a value after ':'"],
    ['host<3', 4, "':'"],
    ['message>=1', 7, "':'"],
    ['peer:>1', 5, "':'"],
    ['status>abc', 7, "a number after '>'"],
    ['status>=0x10', 8, "a number after '>='"],
    ['status>=Infinity', 8, "a number after '>='"],
    ['status>= 5', 8, "a number after '>='"],
    ['status:[1 2]', 10, "'TO'"],
    ['status:[1 TO 2', 14, "']' or '}' to close the range at 7"],
    ['status:[ TO 2]', 9, 'the start of the range'],
    ['status:[a TO 2]', 8, 'a number in the range'],
    ['host:[a TO b]', 5, "a value after ':'"],
    ['status:[1 TO 2]x', 15, "a space, '(' or ')' after the range"],
    ['time:1x', 5, 'a duration (15m, 1h, 7d), a day (2026-12-02), a comparison (time:>=…) or a range (time:[… TO …])'],
    ['time:2026-12-02T10:00:00Z', 5, 'a duration (15m, 1h, 7d), a day (2026-12-02), a comparison (time:>=…) or a range (time:[… TO …])'],
    ['time:>1h', 6, 'a time (2026-12-02T10:00:00Z, 2026-12-02, epoch ms of 13+ digits, now, now-15m)'],
    ['time:>=now-1x', 11, 'a duration (500ms, 30s, 15m, 2h, 7d, 1w)'],
    ['time:>=2026-13-01', 7, 'a valid date and time'],
    ['time:>=2026-02-29', 7, 'a valid date and time'],
    ['time:>=2026-12-02T24:00:00Z', 7, 'a valid date and time'],
    ['time:>=2026-12-02T10:00:00+25:00', 7, 'a valid time zone offset (±HH:MM)'],
    ['time:>=2026-12-02T10:00:00.1234567891Z', 7, 'a time (2026-12-02T10:00:00Z, 2026-12-02, epoch ms of 13+ digits, now, now-15m)'],
    ['time:>=179620560000', 7, 'a time (2026-12-02T10:00:00Z, 2026-12-02, epoch ms of 13+ digits, now, now-15m)'],
    ['time:[now TO]', 12, 'the end of the range'],
    // Before the year 0000: no time a query can name (and print back).
    ['time:>now-1796205600000h', 6, 'a time from the year 0000 on'],
    ['time:1796205600000h', 5, 'a time from the year 0000 on'],
    ['time:>=0000-01-01T00:30:00+01:00', 7, 'a time from the year 0000 on'],
    ['time:>=1796205600000.1234567', 7, 'a time (2026-12-02T10:00:00Z, 2026-12-02, epoch ms of 13+ digits, now, now-15m)'],
    [deep, MAX_QUERY_DEPTH, `at most ${MAX_QUERY_DEPTH} nested parentheses and NOTs`],
    ['-'.repeat(MAX_QUERY_DEPTH + 1) + 'x', MAX_QUERY_DEPTH, `at most ${MAX_QUERY_DEPTH} nested parentheses and NOTs`],
  ];
  for (const [q, pos, expected] of cases) {
    assert.throws(() => parse(q), (e: unknown) => {
      assert.ok(e instanceof QuerySyntaxError, `${JSON.stringify(q)}: ${String(e)}`);
      assert.equal(e.code, 'RL_QUERY_INVALID');
      assert.equal(e.pos, pos, `${JSON.stringify(q)}: ${e.message}`);
      if (expected.startsWith('a severity') || expected.startsWith('a facility')) assert.ok(e.expected.startsWith(expected), `${JSON.stringify(q)}: ${e.message}`);
      else assert.equal(e.expected, expected, `${JSON.stringify(q)}: ${e.message}`);
      assert.ok(e.message.startsWith(`query syntax error at ${pos}: expected `), e.message);
      return true;
    }, JSON.stringify(q));
  }
  // The depth limit is about nesting, not length.
  assert.doesNotThrow(() => parse('('.repeat(MAX_QUERY_DEPTH) + 'x' + ')'.repeat(MAX_QUERY_DEPTH)));
  const wide = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' OR ');
  assert.equal((parseQuery(wide, { maxLength: wide.length }).root as Node & { kind: 'or' }).items.length, 5000);
});

test('error messages: found, hints, the caret line, the length limit', () => {
  const err = (q: string, opts = {}): QuerySyntaxError => {
    try {
      parseQuery(q, { now: NOW, ...opts });
    } catch (e) {
      if (e instanceof QuerySyntaxError) return e;
      throw e;
    }
    assert.fail(`no error for ${q}`);
  };
  const e = err('host:web-1 (error OR');
  assert.equal(e.message, "query syntax error at 20: expected a term after 'OR' but found end of query");
  assert.equal(formatSyntaxError('host:web-1 (error OR', e), 'host:web-1 (error OR\n                    ^');
  assert.equal(err('(a b').message, "query syntax error at 4: expected ')' but found end of query (to close the '(' at 0)");
  assert.equal(err('host: web').found, 'a space');
  assert.equal(err('a) b').found, "')'");
  assert.match(err('severity:foo').message, /emerg, alert, crit, err, warning, notice, info, debug; also .*warn.*or 0-7\) but found 'foo'$/);
  assert.match(err('x /(/').message, /Unterminated group/);
  assert.match(err('time:>1h').message, /for 1h ago write now-1h/);
  assert.equal(err('time:2026-12-02T10:00').found, "'2026-12-02T10:00'");
  // Tabs and line breaks shown as spaces so the caret lines up; an emoji is one column.
  const t = '🔥\ta\n(';
  assert.equal(formatSyntaxError(t, err(t)), '🔥 a (\n     ^');
  // Length: the error is at the limit.
  const long = err('x'.repeat(5000));
  assert.equal(long.pos, 4096);
  assert.equal(long.message, 'query syntax error at 4096: expected a query of at most 4096 characters but found 5000 characters (shorten the query)');
  assert.equal(err('abcdef', { maxLength: 5 }).pos, 5);
  assert.deepEqual(parseQuery('x'.repeat(4096)).root, w('x'.repeat(4096)));
  // The query text is kept.
  assert.equal(parseQuery(' a  b ').text, ' a  b ');
});

// ---------------------------------------------------------------------------------------
// Hostile input

const FRAGMENTS = [
  ' ', ' ', ' ', '(', ')', '"', '\\', '/', '-', '!', '*', '?', ':', '<', '>', '=', '[', ']', '{', '}', 'AND', 'OR', 'NOT',
  'TO', 'a', 'err', 'ä', '🔥', '0', '3', '500', '.', 'e', 'host', 'message', 'severity', 'facility', 'time', '_time',
  'fields.', 'x.y', 'now', 'now-', '1h', '15m', '2026-12-02', 'T10:00:00', 'Z', '+01:00', '1796205600000', 'err',
  'local0', '/i', '\t', '\n',
];
const queryish = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((a) => a.join(''));
const anyText = fc.oneof(queryish, fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 60 }));

/** Parses, or returns the QuerySyntaxError; anything else fails the property. */
function tryParse(q: string): Node | QuerySyntaxError {
  try {
    return parseQuery(q, { now: NOW, maxLength: 200 }).root;
  } catch (e) {
    if (e instanceof QuerySyntaxError) {
      assert.ok(Number.isInteger(e.pos) && e.pos >= 0 && e.pos <= Math.max(q.length, 200), `pos ${e.pos} for ${JSON.stringify(q)}`);
      return e;
    }
    throw e;
  }
}

test('no input throws anything but QuerySyntaxError; what parses prints back to the same AST', () => {
  let parsed = 0;
  fc.assert(
    fc.property(anyText, (q) => {
      const r = tryParse(q);
      if (r instanceof QuerySyntaxError) return;
      parsed++;
      const text = formatQuery(r);
      assert.deepEqual(parseQuery(text, { now: 0 }).root, r, `${JSON.stringify(q)} → ${JSON.stringify(text)}`);
    }),
    { numRuns: 5000 },
  );
  assert.ok(parsed > 500, `only ${parsed} of the random queries parsed`);
});

// ---------------------------------------------------------------------------------------
// Printing: random ASTs of the shape the parser produces

const CHARS = ['a', 'Z', '0', '_', ' ', '\t', '"', '\\', '*', '?', ':', '<', '>', '(', ')', '[', ']', '{', '}', '-', '!', '/', '.', '@', ',', 'ä', '🔥', 'A', 'N', 'D', 'O', 'R', 'T'];
const text = fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 8 });
const text1 = fc.string({ unit: fc.constantFrom(...CHARS), minLength: 1, maxLength: 8 });

/** A glob pattern with at least one unescaped wildcard, literal `*?\` escaped, never just `*`. */
const globPattern = fc
  .array(fc.oneof(fc.constantFrom('*', '?'), fc.constantFrom(...CHARS).map((c) => ('*?\\'.includes(c) ? `\\${c}` : c))), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join(''))
  .filter((p) => p !== '*' && /(^|[^\\])(\\\\)*[*?]/.test(p));

const regexMatch = fc
  .record({
    source: fc.string({ unit: fc.constantFrom('a', 'b', '.', '*', '+', '?', '(', ')', '[', ']', '|', '^', '$', '\\', 'd', '/', ' ', '"', 'ä'), minLength: 1, maxLength: 8 }),
    flags: fc.subarray(['i', 'm', 's', 'u']).map((f) => f.join('')),
  })
  .filter(({ source, flags }) => {
    // Canonical sources have no `\/` (the parser reads it as `/`) and compile.
    for (let i = 0; i < source.length; i++) if (source[i] === '\\' && source[++i] === '/') return false;
    try {
      new RegExp(source, flags);
      return true;
    } catch {
      return false;
    }
  })
  .map(({ source, flags }): Match => ({ kind: 'regex', source, flags }));

const fieldName = fc.oneof(fc.constantFrom('status', 'req.id', 'host', 'Message', 'fields.x', 'time', '@t', '-x', 'AND', 'a b'), text1);
const fieldRef: fc.Arbitrary<FieldRef> = fc.oneof(
  fc.constantFrom<FieldRef>(
    { kind: 'slot', name: 'host' }, { kind: 'slot', name: 'app' }, { kind: 'slot', name: 'procid' }, { kind: 'slot', name: 'msgid' },
    { kind: 'source', name: 'listener' }, { kind: 'source', name: 'transport' }, { kind: 'source', name: 'peer' },
  ),
  fieldName.map((name): FieldRef => ({ kind: 'field', name })),
);

const MIN_NS = -62_167_219_200n * S; // 0000-01-01
const MAX_NS = 253_402_300_800n * S - 1n; // the last ns of 9999

const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.constant<Node>({ kind: 'all' }),
  fc.oneof(text.map((t): Match => ({ kind: 'words', text: t })), globPattern.map((p): Match => ({ kind: 'glob', pattern: p })), regexMatch)
    .chain((m) => fc.constantFrom<FieldRef | null>(null, { kind: 'message' }).map((field): Node => ({ kind: 'match', field, match: m }))),
  fc.record({
    field: fieldRef,
    match: fc.oneof(
      text.map((v): Match => ({ kind: 'exact', value: v })),
      globPattern.map((p): Match => ({ kind: 'glob', pattern: p })),
      regexMatch,
      fc.constant<Match>({ kind: 'exists' }),
    ),
  }).map(({ field, match }): Node => ({ kind: 'match', field, match })),
  fc.record({
    field: fieldName.map((name): FieldRef => ({ kind: 'field', name })),
    op: fc.constantFrom('<', '<=', '>', '>=' as const),
    value: fc.double({ noNaN: true, noDefaultInfinity: true }),
  }).map((c): Node => ({ kind: 'compare', ...c })),
  fc.record({ kind: fc.constantFrom('severity', 'facility' as const), op: fc.constantFrom('<', '<=', '>', '>=' as const), v: fc.nat(23) })
    .map(({ kind, op, v }): Node => ({ kind: 'compare', field: { kind }, op, value: kind === 'severity' ? v % 8 : v })),
  fc.record({ kind: fc.constantFrom('severity', 'facility' as const), vs: fc.array(fc.nat(23), { minLength: 1, maxLength: 3 }) })
    .map(({ kind, vs }): Node => ({ kind: 'level', field: { kind }, values: kind === 'severity' ? vs.map((v) => v % 8) : vs })),
  fc.record({
    from: fc.option(fc.bigInt({ min: MIN_NS, max: MAX_NS })),
    to: fc.option(fc.bigInt({ min: MIN_NS, max: MAX_NS })),
  }).map(({ from, to }): Node => ({ kind: 'time', from, to })),
);

function junction(kind: 'and' | 'or', items: Node[]): Node {
  const flat = items.flatMap((n) => (n.kind === kind ? n.items : [n]));
  return flat.length === 1 ? flat[0]! : { kind, items: flat };
}

const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((items) => junction('and', items)),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((items) => junction('or', items)),
    tie('node').map((item): Node => ({ kind: 'not', item })),
  ),
}));

test('formatQuery: parseQuery(formatQuery(ast)) is the same AST', () => {
  fc.assert(
    fc.property(node, (n) => {
      const q = formatQuery(n);
      let back: Node;
      try {
        back = parseQuery(q, { now: 0 }).root;
      } catch (e) {
        assert.fail(`${JSON.stringify(q)}: ${(e as Error).message}`);
      }
      assert.deepEqual(back, n, JSON.stringify(q));
    }),
    { numRuns: 3000 },
  );
});

test('formatQuery: readable canonical text', () => {
  const cases: [string, string][] = [
    ['a AND b', 'a b'],
    ['!a OR NOT (b c)', '-a OR -(b c)'],
    ['Host:web-1', 'host:web-1'],
    ['level:ERROR', 'severity:err'],
    ['facility<=4', 'facility<=auth'],
    ['"host":x fields.fields.y:1', '"host":x "fields.y":1'],
    ['"a b"', '"a b"'],
    ['"-x" "OR"', '"-x" "OR"'],
    ['\\-x*', '\\-x*'],
    ['host:"a b" host:"" host:"*"', 'host:"a b" host:"" host:"*"'],
    ['/a\\/b/i', '/a\\/b/i'],
    ['time:[2026-12-02T10:00:00.5+01:00 TO 2026-12-03]', 'time:[2026-12-02T09:00:00.500Z TO 2026-12-03T00:00:00.000000001Z}'],
    ['time:1h', 'time:[2026-12-02T11:00:00Z TO *}'],
    // Beyond the year 9999: epoch ms, with the ns as a fraction when there are some
    // (a bound after an exclusive one is 1 ns on: found by the round-trip property).
    ['_time>1796205600000500', 'time:[1796205600000500.000001 TO *}'],
    ['time:[253402300800000 TO 253402300800000.25]', 'time:[253402300800000 TO 253402300800000.250001}'],
  ];
  for (const [q, want] of cases) {
    assert.equal(formatQuery(parse(q)), want, q);
    assert.deepEqual(parse(formatQuery(parse(q))), parse(q), `${q}: printed back`);
  }
});
