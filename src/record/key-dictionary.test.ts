import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyDictionary, MAX_KEYS } from './key-dictionary.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

test('the same bytes under the same prefix give the same id; the name is built once', () => {
  const d = new KeyDictionary();
  const buf = bytes('xx user_id yy user_id');
  const a = d.intern(buf, 3, 10);
  const b = d.intern(buf, 14, 21);
  assert.equal(a, b);
  assert.equal(d.strings[a], 'user_id');
  const sd = d.intern(bytes('origin@32473'), 0, 12);
  const ip = d.intern(bytes('ip'), 0, 2, sd);
  assert.notEqual(ip, d.intern(bytes('ip'), 0, 2), 'a prefix makes a different name');
  assert.equal(d.strings[ip], 'origin@32473.ip');
  assert.equal(d.internString('origin@32473.ip'), d.internString('origin@32473.ip'));
  assert.equal(d.strings[d.internString('é')], 'é');
});

test('ids stay stable and distinct through table growth, for any set of names', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 3000 }), (names) => {
      const d = new KeyDictionary();
      const ids = names.map((n) => d.internString(n));
      const again = names.map((n) => d.internString(n));
      assert.deepEqual(again, ids);
      const distinct = new Set(names);
      assert.equal(d.size, distinct.size);
      names.forEach((n, i) => assert.equal(d.strings[ids[i]!], n));
    }),
    { numRuns: 50 },
  );
});

test('a dictionary reports full at MAX_KEYS names (the parser then starts a new one)', () => {
  const d = new KeyDictionary();
  for (let i = 0; i < MAX_KEYS - 1; i++) d.internString(`k${i}`);
  assert.equal(d.full, false);
  d.internString('one more');
  assert.equal(d.full, true);
  assert.equal(d.strings[d.internString('k123')], 'k123', 'still answers for names it holds');
});
