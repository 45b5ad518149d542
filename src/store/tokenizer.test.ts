/**
 * Tokens for the block index: what a word is (tokensOf), and that the hashes the write
 * path adds (addTokens, hashPairFrom) are the hashes queries look up (tokenHashes, hashPair).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HashSet32, addTokens, addValueTokens, hashPair, hashPairFrom, isTokenByte, pairPrefix, pairProbe, tokenHashes, tokensOf } from './tokenizer.js';

test('tokens as documented: ASCII letters, digits and _ runs, lower-cased; UTF-8 words whole', () => {
  const cases: [string, string[]][] = [
    ['GET /api/v1/orders 200', ['get', 'api', 'v1', 'orders', '200']],
    ['Disk FULL on /dev/sda1!', ['disk', 'full', 'on', 'dev', 'sda1']],
    ['user_id=42 req-id:abc_DEF', ['user_id', '42', 'req', 'id', 'abc_def']],
    ['__init__ 3.14 0x1F', ['__init__', '3', '14', '0x1f']],
    ['Zürich München straße', ['zürich', 'münchen', 'straße']],
    // Only ASCII is lower-cased: bytes ≥ 0x80 are part of the token as they are.
    ['ÄRGER Ärger', ['Ärger', 'Ärger']],
    ['日本語のログ、エラー', ['日本語のログ、エラー']], // every byte of these is ≥ 0x80: one token
    ['emoji🔥fire', ['emoji🔥fire']],
    ['', []],
    ['  \t\n-+/', []],
    ['a', ['a']],
    ['tab\tsep\nnl\r\ncrlf', ['tab', 'sep', 'nl', 'crlf']],
    ['"quoted" [br] {cu} (pa) <an>', ['quoted', 'br', 'cu', 'pa', 'an']],
  ];
  for (const [text, want] of cases) assert.deepEqual(tokensOf(text), want, JSON.stringify(text));
  for (const c of [0x5f, 0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a, 0x80, 0xff]) assert.ok(isTokenByte(c), `0x${c.toString(16)}`);
  for (const c of [0x00, 0x20, 0x2d, 0x2e, 0x2f, 0x3a, 0x3d, 0x40, 0x5b, 0x60, 0x7b, 0x7f]) assert.ok(!isTokenByte(c), `0x${c.toString(16)}`);
});

/** The hashes addTokens puts in a set, as a sorted list. */
function written(text: string | Buffer): number[] {
  const set = new HashSet32(4);
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  // Surrounded by other bytes: the range must be respected.
  const padded = Buffer.concat([Buffer.from('zz'), b, Buffer.from('yy')]);
  addTokens(set, padded, 2, 2 + b.length);
  const out: number[] = [];
  set.forEach((h) => out.push(h));
  return out.sort((x, y) => x - y);
}

test('the write path hashes exactly the tokens a query hashes (any text, case-insensitive for ASCII)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
      const q = tokenHashes(text).map((h) => h >>> 0 || 1).sort((x, y) => x - y);
      assert.deepEqual(written(text), q);
      // One hash per distinct token.
      assert.equal(q.length, new Set(tokensOf(text)).size);
      // ASCII upper case finds the same hashes.
      const upper = text.replace(/[a-z]/g, (c) => c.toUpperCase());
      assert.deepEqual(written(upper), q);
    }),
    { numRuns: 1000 },
  );
});

test('name=value pairs: hashPairFrom over a value in a buffer equals hashPair of the strings, ASCII case-insensitive', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z@.0-9_]{1,12}$/), fc.string({ unit: 'binary', maxLength: 30 }), (name, value) => {
      const v = Buffer.from(`..${value}..`);
      const h = hashPairFrom(pairPrefix(name), v, 2, v.length - 2);
      assert.equal(h, hashPair(name, value));
      assert.equal(h, hashPair(name.toUpperCase(), value.replace(/[a-z]/g, (c) => c.toUpperCase())));
    }),
    { numRuns: 500 },
  );
  // A pair is not a word: `host=web` is not the hash of the tokens host, web.
  assert.ok(!tokenHashes('host web').includes(hashPair('host', 'web')));
  assert.notEqual(hashPair('host', 'a'), hashPair('app', 'a'));
});

test('field values: the write path (addValueTokens) holds what a name=value query probes (pairProbe) and the words of the value', () => {
  const has = (set: HashSet32, h: number) => set.has(h >>> 0 || 1);
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z@.0-9_]{1,12}$/), fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.stringMatching(/^[a-zA-Z0-9_]{1,10}$/)), (name, value) => {
      const set = new HashSet32(4);
      const v = Buffer.from(`<<${value}>>`);
      addValueTokens(set, pairPrefix(name), v, 2, v.length - 2);
      assert.ok(has(set, pairProbe(name, value)), 'the probe of name=value');
      const asciiUpper = (x: string) => x.replace(/[a-z]/g, (c) => c.toUpperCase());
      assert.ok(has(set, pairProbe(asciiUpper(name), asciiUpper(value))), 'ASCII case-insensitive');
      for (const h of tokenHashes(value)) assert.ok(has(set, h), 'every word of the value');
      // Nothing else: the words, plus the pair unless the value is one word.
      const words = new Set(tokenHashes(value).map((h) => h >>> 0 || 1));
      assert.ok(set.size === words.size || set.size === words.size + 1, `${set.size} hashes for ${words.size} words`);
    }),
    { numRuns: 1000 },
  );
  // One-word values are found by their word (so a value and the same word in a message collide, by design).
  assert.equal(pairProbe('user', 'Bob_42'), tokenHashes('bob_42')[0]);
  assert.equal(pairProbe('path', '/var/log'), hashPair('path', '/var/log'));
  assert.equal(pairProbe('empty', ''), hashPair('empty', ''));
});

test('HashSet32: a set of 32-bit numbers (0 included), growing from any capacity; clear empties it', () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 3000 }), fc.integer({ min: 1, max: 64 }), (xs, cap) => {
      const s = new HashSet32(cap);
      for (const x of xs) s.add(x);
      // 0 and 1 share a slot (0 is the empty marker): the set holds hashes, so that is a collision, not a loss.
      const norm = new Set(xs.map((x) => x || 1));
      assert.equal(s.size, norm.size);
      for (const x of xs) assert.ok(s.has(x));
      const seen: number[] = [];
      s.forEach((h) => seen.push(h));
      assert.deepEqual(seen.sort((a, b) => a - b), [...norm].sort((a, b) => a - b));
      s.clear();
      assert.equal(s.size, 0);
      for (const x of xs) assert.ok(!s.has(x));
    }),
    { numRuns: 100 },
  );
  // Large sets shrink their table on clear and still work.
  const big = new HashSet32(16);
  for (let i = 0; i < 100_000; i++) big.add(i * 2654435761);
  big.clear();
  big.add(7);
  assert.ok(big.has(7) && !big.has(8) && big.size === 1);
});
