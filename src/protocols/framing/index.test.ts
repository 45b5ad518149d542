import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_FRAME, LfFramer, OctetFramer, createFramer, framerOptions } from './index.js';
import type { FramerOptions } from './framer.js';
import { b, opts, run } from './test-helpers.js';

describe('createFramer', () => {
  it('DEFAULT_MAX_FRAME is 64 KiB', () => {
    assert.equal(DEFAULT_MAX_FRAME, 65536);
  });

  it('framerOptions fills the defaults and keeps what is given', () => {
    assert.deepEqual(framerOptions({ mode: 'lf' }), {
      mode: 'lf',
      maxFrame: DEFAULT_MAX_FRAME,
      onOversize: 'truncate',
      nulDelimiter: false,
    });
    assert.equal(framerOptions({ mode: 'auto', maxFrame: 10, nulDelimiter: true }).maxFrame, 10);
  });

  it('builds the framer of each mode', () => {
    assert.ok(createFramer(opts('lf')) instanceof LfFramer);
    assert.ok(createFramer(opts('octet')) instanceof OctetFramer);
    assert.ok(createFramer(opts('auto')) instanceof OctetFramer);
    const input = [b('5 hello<1>x\n')];
    assert.deepEqual(run(opts('lf'), input).frames.map((f) => f.s), ['5 hello<1>x']);
    assert.deepEqual(run(opts('auto'), input).frames.map((f) => f.s), ['hello', '<1>x']);
    assert.deepEqual(run(opts('octet'), input).events, [['bad_octet_count', 4]]);
    assert.deepEqual(run(opts('auto'), input).events, []);
  });

  it('rejects invalid options', () => {
    const bad: Array<Partial<FramerOptions>> = [
      { maxFrame: 0 },
      { maxFrame: -1 },
      { maxFrame: 1.5 },
      { maxFrame: NaN },
      { maxFrame: Infinity },
      { onOversize: 'explode' as 'drop' },
      { mode: 'xml' as 'lf' },
    ];
    for (const o of bad) assert.throws(() => createFramer({ ...opts('auto'), ...o }), RangeError, JSON.stringify(o));
    for (const mode of ['lf', 'octet'] as const) assert.throws(() => createFramer(opts(mode, { maxFrame: 0 })), RangeError);
  });
});
