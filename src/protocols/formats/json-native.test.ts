/**
 * The native JSON lines pass (native/json_strings.cc scanJsonLines, json-native.ts)
 * against its definition, json.ts: ParseStage gives the same columns, key dictionary
 * and counts with the pass as without it, for JSON lines of every shape (roles, nesting,
 * escapes, GELF keys, repeated keys), mutated lines and random bytes; the pass takes
 * every frame json.ts parses without an error; and the blocks built are the same.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ParseStage } from './parse-stage.js';
import type { FormatName } from './format.js';
import { applyEdits, frameBatchOf, stageSnapshots, type ByteEdit } from './test-helpers.js';
import { nativeScanJsonLines, scanJsonLines, setNativeJson } from './json-native.js';
import type { RecordBatch } from '../../record/record-batch.js';
import { recordAt } from '../../record/record.js';
import { buildBlocks, parse } from '../../store/test-helpers.js';
import { Parsers } from '../../store/parsers.js';
import { filterBytes } from '../../store/block-filter.js';

const skip = nativeScanJsonLines() === null ? 'native addon not built (or RINGLOG_NATIVE=off)' : false;

const RECEIVED = Date.UTC(2026, 10, 22, 10, 0, 0);
const key = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('time', 'ts', 'timestamp', '@timestamp', 'date', 'level', 'lvl', 'severity', 'msg', 'message', 'log', 'host', 'hostname', 'app', 'service', 'logger', 'pid', 'msgid', 'version', 'short_message', 'full_message', '_user', '_id', 'user_id', 'trace.id', 'status', '') },
  { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('a\\"b', 'm\\u0073g', 'x\\ny', '\\u00e9') },
);
const scalar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.constantFrom('"2026-11-22T10:00:00.123Z"', '"2026-11-22 10:00:00"', '"info"', '"ERROR"', '"warn"', '1795354528', '1795354528.123', '"1795354528454"', '3', '"3"', '"notice"', '"web-1"', '"a\\tb"', '"\\ud800"') },
  { weight: 2, arbitrary: fc.constantFrom('0', '-0', '1.5e3', '-12.25E-2', '01', '1.', '.5', '-', '1e', '+1', 'true', 'false', 'null', 'tru', 'nul', 'NaN', 'falsy', 'nulL', 'trUe', 'true1', '1x', '-01', '1.5.5') },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)) },
);
const value: fc.Arbitrary<string> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(tie('v') as fc.Arbitrary<string>, { maxLength: 3 }).map((a) => `[${a.join(',')}]`) },
    { weight: 1, arbitrary: fc.array(fc.tuple(key, tie('v') as fc.Arbitrary<string>), { maxLength: 3 }).map((ms) => `{${ms.map(([k, v]) => `"${k}":${v}`).join(',')}}`) },
    { weight: 1, arbitrary: fc.constantFrom('{}', '{ }', '[]', '[ ]') },
  ),
})).v;
const ws = fc.constantFrom('', '', '', ' ', '\t', '\r\n ', '\n');
const member = fc.tuple(ws, key, ws, ws, value, ws).map(([a, k, b, c, v, d]) => `${a}"${k}"${b}:${c}${v}${d}`);
const object = fc
  .tuple(fc.constantFrom('', '', ' ', '\t', '\ufeff', '\ufeff\ufeff', ' \ufeff', '\n'), fc.array(member, { maxLength: 8 }), ws, fc.constantFrom('', '', '\n', '\r\n', '\u0000', ' x', ','))
  .map(([pre, ms, w, post]) => Buffer.from(`${pre}{${ms.join(',')}${w}}${post}`, 'utf8'));
const mutated = fc
  .tuple(object, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom<ByteEdit[2]>('set', 'insert', 'delete')), { minLength: 1, maxLength: 3 }))
  .map(([b, edits]) => applyEdits(b, edits));
const repeating = fc
  .tuple(
    fc.constantFrom(
      '{"time":"2026-11-22T10:00:00Z","level":"info","host":"web-1","app":"api","message":"m","status":200}',
      '{"time":"2026-11-22T10:00:00Z","level":"warn","host":"web-2","app":"api","message":"m","status":"x"}',
      '{"time":"2026-11-22T10:00:00Z","levex":"info","host":"web-1","app":"api","message":"m","status":200}',
      '{"level":"info","time":"2026-11-22T10:00:00Z","host":"web-1","message":"m"}',
      '{"version":"1.1","host":"h","short_message":"s","_user":"u","level":3}',
      '{"req":{"id":1,"method":"GET"},"msg":"x","level":"info"}',
      '{"a\\"b":1,"msg":"x"}',
      '{}',
    ),
    fc.nat(999),
  )
  .map(([line, n]) => Buffer.from(line.replace('"m"', `"m ${n}"`)));
const other = fc.constantFrom('<13>1 - h a - - - x', 'key=value other=1', 'plain text', '  {"a":1}', '\t{"b":2}', '{"unterminated":', '');
const frameArb = fc.oneof({ weight: 5, arbitrary: object }, { weight: 3, arbitrary: mutated }, { weight: 3, arbitrary: repeating }, { weight: 1, arbitrary: other.map((s) => Buffer.from(s)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.concat([Buffer.from('{'), Buffer.from(a)])) });

/** Parses the batches with one stage, the native pass on or off: snapshots and counts. */
function parseAll(format: FormatName, batches: Buffer[][], native: boolean, reuse: boolean): unknown[] {
  setNativeJson(native);
  try {
    return stageSnapshots(format, batches, reuse, RECEIVED);
  } finally {
    setNativeJson(true);
  }
}

describe('native JSON lines pass', { skip }, () => {
  it('gives the same columns, keys and counts as json.ts (json, auto, gelf)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(frameArb, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 3 }), fc.constantFrom<FormatName>('json', 'auto', 'gelf'), fc.boolean(), (batches, format, reuse) => {
        assert.deepEqual(parseAll(format, batches, true, reuse), parseAll(format, batches, false, reuse));
      }),
      { numRuns: 1200 },
    );
  });

  it('takes every frame json.ts parses without an error, and no other', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(object, repeating), { minLength: 1, maxLength: 10 }), fc.constantFrom<FormatName>('json', 'auto'), (frames, format) => {
        setNativeJson(false);
        let js: RecordBatch;
        try {
          js = new ParseStage(format).parse(frameBatchOf(frames, RECEIVED));
        } finally {
          setNativeJson(true);
        }
        const auto = format === 'auto';
        const ok = Array.from({ length: js.count }, (_, i) => {
          const text = frames[i]!.toString('latin1').replace(/^\u00ef\u00bb\u00bf/, '');
          return recordAt(js, i).fields['parse_error'] === undefined && (!auto || /^[ \t]*\{/.test(text));
        });
        const taken = scanJsonLines(frameBatchOf(frames, RECEIVED), auto);
        assert.deepEqual(Array.from({ length: frames.length }, (_, i) => ((taken?.[i] ?? 0) & 1) === 1), ok);
      }),
      { numRuns: 800 },
    );
  });

  it('builds the same blocks as json.ts', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.oneof(object, repeating, mutated), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }), (entries) => {
        const block = (native: boolean) => {
          setNativeJson(native);
          try {
            // One block per hour, as the store builds them (a block's times are within its partition).
            const built = buildBlocks(entries.map((frames) => [parse('json', frames)]), { parsers: new Parsers(undefined, true) });
            return built.map((b) => b.sealed.bytes.toString('hex') + Buffer.from(filterBytes(b.sealed.filter)).toString('hex'));
          } finally {
            setNativeJson(true);
          }
        };
        assert.deepEqual(block(true), block(false));
      }),
      { numRuns: 200 },
    );
  });

  it('agrees on deep nesting: flattened, kept as text past 16 levels, invalid past 512', () => {
    const nest = (d: number) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`;
    const frames = [3, 16, 17, 40, 510, 511, 512, 600].flatMap((d) => [`{"k":${nest(d)},"msg":"x"}`, `{"msg":${nest(d)}}`, `{"k":[${nest(d)}]}`]).map((f) => Buffer.from(f));
    for (const format of ['json', 'auto'] as FormatName[]) assert.deepEqual(parseAll(format, [frames], true, false), parseAll(format, [frames], false, false));
  });

  it('makes room for records with many members, and leaves frames over 4096 members to json.ts', () => {
    const many = `{${Array.from({ length: 40 }, (_, k) => `"k${k}":${k}`).join(',')}}`;
    const frames = Array.from({ length: 3000 }, () => Buffer.from(many + '\n'));
    frames.splice(10, 0, Buffer.from(`{${Array.from({ length: 4100 }, (_, k) => `"k${k}":1`).join(',')}}`));
    const taken = Array.from(scanJsonLines(frameBatchOf(frames, RECEIVED), false)!.subarray(0, frames.length));
    assert.equal(taken.filter((t) => (t & 1) === 1).length, 3000);
    assert.equal(taken[10], 0);
    assert.deepEqual(parseAll('json', [frames], true, true), parseAll('json', [frames], false, true));
  });

  it('refuses arguments that do not fit', () => {
    const fn = nativeScanJsonLines()!;
    const buf = Buffer.from('{"a":1}');
    assert.equal(fn(buf, Uint32Array.of(0, buf.length), 1, false, new Uint8Array(1), new Uint32Array(64), new Uint32Array(2)), 1);
    assert.throws(() => fn(buf, Uint32Array.of(0, buf.length), 2, false, new Uint8Array(2), new Uint32Array(64), new Uint32Array(3)), RangeError);
    assert.throws(() => fn(buf, Uint32Array.of(0, buf.length), 1, 1 as unknown as boolean, new Uint8Array(1), new Uint32Array(64), new Uint32Array(2)), TypeError);
    const shared = new Uint8Array(new SharedArrayBuffer(buf.length));
    shared.set(buf);
    assert.throws(() => fn(shared as unknown as Buffer, Uint32Array.of(0, buf.length), 1, false, new Uint8Array(1), new Uint32Array(64), new Uint32Array(2)), TypeError);
    const words = new Uint32Array(66);
    assert.throws(() => fn(buf, Uint32Array.of(0, buf.length), 1, false, new Uint8Array(1), words.subarray(0, 64), words.subarray(63, 65)), RangeError, 'items and itemAt share a word');
    assert.equal(fn(buf, Uint32Array.of(0, 999), 1, false, new Uint8Array(1), new Uint32Array(64), new Uint32Array(2)), 0);
  });
});
