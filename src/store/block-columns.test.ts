/**
 * The native row-wise columns (block-columns.ts, native/block_columns.cc) against the
 * JavaScript loops of encodeBlock(), their definition: the same block bytes for any
 * contents, and a clear refusal of arguments that do not fit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Compressor } from 'zstd-napi';
import { encodeBlock, sealTools, type BlockContents } from './block-builder.js';
import { nativeBlockColumns } from './block-columns.js';
import { ByteWriter } from './byte-buffer.js';
import { BLOCK_HEADER_SIZE, unmarshalBlockHeader } from './block-header.js';
import { decodeBlock } from './block-decoder.js';

const native = nativeBlockColumns();
const skip = native === null ? 'native addon not built (or RINGLOG_NATIVE=off)' : false;

const compressor = new Compressor();
compressor.setParameters({ compressionLevel: 1 });

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 3, 10);

// Mostly short texts; some longer than 127 bytes (lengths of two uvarint bytes).
const text = fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 120, maxLength: 300 }) });
const dict = fc.array(text, { maxLength: 6 });

/** Block contents as a builder gathers them: consistent ids, counts and ranges, times within one hour. */
const contentsArb = fc
  .record({
    n: fc.nat(300),
    nsUnit: fc.constantFrom(1_000_000, 1000, 1),
    dicts: fc.tuple(dict, dict, dict, dict),
    sources: fc.array(fc.tuple(fc.string(), fc.string(), fc.string()), { minLength: 1, maxLength: 3 }),
    columns: fc.array(fc.oneof({ weight: 5, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.string({ minLength: 130, maxLength: 200 }) }), { maxLength: 5 }),
    // Fields in every row, or in few (a sparse column: row gaps of 128 and more).
    fieldRate: fc.constantFrom(1, 0.02),
    // Receive times may lie far apart (a replay after downtime): up to years.
    rcSpread: fc.constantFrom(10, HOUR, 400 * 24 * HOUR),
    seed: fc.nat(),
  })
  .chain((p) => fc.record({
    p: fc.constant(p),
    rows: fc.array(fc.record({
      ms: fc.nat(HOUR - 1),
      ns: fc.nat(999_999),
      rc: fc.nat(p.rcSpread),
      rcNs: fc.nat(999_999),
      fac: fc.nat(23),
      sev: fc.nat(7),
      slots: fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()),
      src: fc.nat(),
      msg: text,
      fields: fc.array(fc.tuple(fc.nat(), text), { maxLength: 4 }),
    }), { minLength: p.n, maxLength: p.n }),
  }))
  .map(({ p, rows }) => contents(p, rows.map((r, i) => (p.fieldRate === 1 || (i * 7919 + p.seed) % 50 === 0 ? r : { ...r, fields: [] }))));

type Row = { ms: number; ns: number; rc: number; rcNs: number; fac: number; sev: number; slots: number[]; src: number; msg: Uint8Array; fields: [number, Uint8Array][] };

function contents(p: { n: number; nsUnit: number; dicts: Uint8Array[][]; sources: string[][]; columns: string[]; seed: number }, rows: Row[]): BlockContents {
  const n = rows.length;
  const msgs = Buffer.concat(rows.map((r) => r.msg));
  const fieldRows = rows.map((r) => (p.columns.length === 0 ? [] : r.fields));
  const values = Buffer.concat(fieldRows.flat().map(([, v]) => v));
  const nf = fieldRows.reduce((a, f) => a + f.length, 0);
  const c: BlockContents = {
    n, nf,
    tsMs: new Float64Array(n), tsNs: new Uint32Array(n), rcMs: new Float64Array(n), rcNs: new Uint32Array(n),
    fac: new Uint8Array(n), sev: new Uint8Array(n),
    slotIds: [0, 1, 2, 3].map(() => new Uint32Array(n)),
    slotDicts: p.dicts.map((d) => {
      const buf = Buffer.concat(d);
      const starts = new Uint32Array(d.length);
      const lens = new Uint32Array(d.length);
      for (let k = 0, at = 0; k < d.length; at += d[k]!.length, k++) {
        starts[k] = at;
        lens[k] = d[k]!.length;
      }
      return { size: d.length, buf, used: buf.length, starts, lens };
    }),
    sources: p.sources.flat(), src: new Uint32Array(n),
    msgAt: new Uint32Array(n), msgLen: new Uint32Array(n), msgs,
    fStart: new Uint32Array(n + 1), fCol: new Uint32Array(nf), fAt: new Uint32Array(nf), fLen: new Uint32Array(nf), values,
    columns: p.columns.map((name) => ({ name, prefix: 0, count: 0 })),
    tokens: { size: 0, slots: new Uint32Array(16) },
    minMs: Infinity, minNs: 0, maxMs: -Infinity, maxNs: 0, facMask: 0, sevMask: 0, maxLsn: 1,
  };
  let msgAt = 0;
  let x = 0;
  let valueAt = 0;
  rows.forEach((r, i) => {
    const ms = T0 + r.ms;
    const ns = Math.floor(r.ns / p.nsUnit) * p.nsUnit;
    c.tsMs[i] = ms;
    c.tsNs[i] = ns;
    if (ms < c.minMs || (ms === c.minMs && ns < c.minNs)) [c.minMs, c.minNs] = [ms, ns];
    if (ms > c.maxMs || (ms === c.maxMs && ns > c.maxNs)) [c.maxMs, c.maxNs] = [ms, ns];
    c.rcMs[i] = T0 + r.rc;
    c.rcNs[i] = r.rcNs;
    c.fac[i] = r.fac;
    c.sev[i] = r.sev;
    for (let s = 0; s < 4; s++) c.slotIds[s]![i] = r.slots[s]! % (p.dicts[s]!.length + 1);
    c.src[i] = r.src % p.sources.length;
    c.msgAt[i] = msgAt;
    c.msgLen[i] = r.msg.length;
    msgAt += r.msg.length;
    c.fStart[i] = x;
    for (const [col, v] of fieldRows[i]!) {
      const k = col % p.columns.length;
      c.fCol[x] = k;
      c.fAt[x] = valueAt;
      c.fLen[x] = v.length;
      c.columns[k]!.count++;
      valueAt += v.length;
      x++;
    }
  });
  c.fStart[n] = x;
  if (n === 0) [c.minMs, c.maxMs] = [T0, T0];
  return c;
}

function encodeBoth(c: BlockContents): { js: Buffer; nat: Buffer } {
  const js = encodeBlock(c, compressor, 7, new ByteWriter(64), sealTools({ columns: true })).bytes;
  const nat = encodeBlock(c, compressor, 7, new ByteWriter(64), sealTools()).bytes;
  return { js, nat };
}

describe('native block columns', { skip }, () => {
  it('encode any contents to the same block bytes as the JavaScript loops', () => {
    fc.assert(
      fc.property(contentsArb, (c) => {
        const { js, nat } = encodeBoth(c);
        assert.ok(nat.equals(js));
      }),
      { numRuns: 500 },
    );
  });

  it('encode an empty block, and a sparse column of long values under a long name, as the JavaScript loops do', () => {
    const empty = fc.sample(contentsArb.filter((x) => x.n === 0), { numRuns: 1, seed: 3 })[0]!;
    const e = encodeBoth(empty);
    assert.ok(e.nat.equals(e.js));
    const c = fc.sample(contentsArb.filter((x) => x.n >= 250), { numRuns: 1, seed: 5 })[0]!;
    // One column, in rows 0, 140 and the last, with 200-byte values.
    const rows = [0, 140, c.n - 1];
    const long = Buffer.alloc(200, 0x61);
    c.columns = [{ name: 'n'.repeat(150), prefix: 0, count: rows.length }];
    c.nf = rows.length;
    c.values = Buffer.concat(rows.map(() => long));
    c.fCol = new Uint32Array(rows.length);
    c.fAt = Uint32Array.from(rows, (_, k) => k * 200);
    c.fLen = new Uint32Array(rows.length).fill(200);
    c.fStart = Uint32Array.from({ length: c.n + 1 }, (_, i) => rows.filter((r) => r < i).length);
    const { js, nat } = encodeBoth(c);
    assert.ok(nat.equals(js));
  });

  it('give a block that decodes to the contents, rows in (app, host, arrival) order', () => {
    const c = fc.sample(contentsArb.filter((x) => x.n > 50 && x.columns.length > 1), { numRuns: 1, seed: 42 })[0]!;
    const { nat } = encodeBoth(c);
    const header = unmarshalBlockHeader(nat, 0);
    const d = decodeBlock(header, nat.subarray(BLOCK_HEADER_SIZE));
    assert.equal(d.n, c.n);
    const rows = Array.from({ length: c.n }, (_, i) => i)
      .sort((a, b) => c.slotIds[1]![a]! - c.slotIds[1]![b]! || c.slotIds[0]![a]! - c.slotIds[0]![b]! || a - b);
    const fieldsOf = new Map<string, string[]>();
    rows.forEach((i, j) => {
      assert.equal(d.severity[j], c.sev[i]);
      assert.equal(d.facility[j], c.fac[i]);
      assert.equal(d.tsMs[j], c.tsMs[i]);
      assert.equal(d.tsNs[j], c.tsNs[i]);
      assert.equal(d.rcMs[j], c.rcMs[i]);
      assert.equal(d.rcNs[j], c.rcNs[i]);
      assert.equal(d.slotIds[2]![j], c.slotIds[2]![i]);
      assert.deepEqual(d.payload.subarray(d.msgStarts[j]!, d.msgStarts[j]! + d.msgLens[j]!), c.msgs.subarray(c.msgAt[i]!, c.msgAt[i]! + c.msgLen[i]!));
      for (let x = c.fStart[i]!; x < c.fStart[i + 1]!; x++) {
        const name = c.columns[c.fCol[x]!]!.name;
        const list = fieldsOf.get(name) ?? [];
        list.push(`${j}:${Buffer.from(c.values.subarray(c.fAt[x]!, c.fAt[x]! + c.fLen[x]!)).toString('hex')}`);
        fieldsOf.set(name, list);
      }
    });
    const decoded = new Map(d.fields.map((f) => [f.name, Array.from(f.rows, (row, k) => `${row}:${d.payload.subarray(f.starts[k]!, f.starts[k]! + f.lens[k]!).toString('hex')}`)]));
    for (const [name, list] of fieldsOf) assert.deepEqual(decoded.get(name), list, name);
  });

  it('leave a delta that is not a whole number to the JavaScript loops (the same bytes)', () => {
    const c = fc.sample(contentsArb.filter((x) => x.n > 3), { numRuns: 1, seed: 7 })[0]!;
    c.tsMs[2] = c.tsMs[2]! + 0.5;
    c.rcMs[1] = c.rcMs[1]! + 0.25;
    const out = Buffer.alloc(23 * c.n);
    assert.equal(native!.encodeRows(out, 0, Uint32Array.from({ length: c.n }, (_, i) => i), c.n, c.tsMs, c.tsNs, c.rcMs, c.rcNs, c.fac, c.sev, c.minMs, c.minNs, 1), -1);
    const { js, nat } = encodeBoth(c);
    assert.ok(nat.equals(js));
  });

  it('refuse rows, keys and ranges outside their arrays, and too little room', () => {
    const f = native!;
    const perm = Uint32Array.of(0, 1, 2);
    assert.throws(() => f.orderRows(Uint32Array.of(0, 5, 1), 3, Uint32Array.of(0, 0, 0), 1, 3, new Uint32Array(3)), RangeError);
    assert.throws(() => f.orderRows(Uint32Array.of(0, 1), 3, Uint32Array.of(0, 0), 1, 3, new Uint32Array(3)), RangeError);
    assert.throws(() => f.putUvarints(new Uint8Array(15), 0, Uint32Array.of(1, 2), perm, 0, 3), RangeError);
    assert.throws(() => f.putUvarints(new Uint8Array(14), 0, Uint32Array.of(1, 2, 3), perm, 0, 3), RangeError);
    assert.equal(f.putUvarints(new Uint8Array(15), 0, Uint32Array.of(1, 300, 3), perm, 0, 3), 4);
    const ts = Float64Array.of(1, 2, 3);
    const u = Uint32Array.of(0, 0, 0);
    const b = Uint8Array.of(0, 0, 0);
    assert.throws(() => f.encodeRows(new Uint8Array(68), 0, perm, 3, ts, u, ts, u, b, b, 1, 0, 1), RangeError);
    assert.throws(() => f.encodeRows(new Uint8Array(69), 0, Uint32Array.of(0, 3, 1), 3, ts, u, ts, u, b, b, 1, 0, 1), RangeError);
    assert.equal(f.encodeRows(new Uint8Array(69), 0, perm, 3, ts, u, ts, u, b, b, 1, 0, 1_000_000), 15);
    assert.throws(() => f.encodeRows(new Uint8Array(69), 0, perm, 3, ts, u, ts, u, b, b, 1, 0, 0), TypeError);
    // encodeFields: a column over its count, an entry outside values, a count not reached.
    const fStart = Uint32Array.of(0, 1, 2, 2);
    const names = Uint8Array.of(1, 0x61);
    const out = new Uint8Array(64);
    const ok = () => f.encodeFields(out, 0, perm, 3, fStart, Uint32Array.of(0, 0), Uint32Array.of(0, 1), Uint32Array.of(1, 1), Uint8Array.of(0x78, 0x79), names, Uint32Array.of(2), Uint32Array.of(2));
    assert.equal(ok(), 2 + 1 + 2 + 2 + 2);
    assert.deepEqual([...out.subarray(0, 9)], [1, 0x61, 2, 0, 1, 1, 1, 0x78, 0x79]);
    assert.throws(() => f.encodeFields(out, 0, perm, 3, fStart, Uint32Array.of(0, 0), Uint32Array.of(0, 1), Uint32Array.of(1, 1), Uint8Array.of(0x78, 0x79), names, Uint32Array.of(2), Uint32Array.of(1)), RangeError);
    assert.throws(() => f.encodeFields(out, 0, perm, 3, fStart, Uint32Array.of(0, 0), Uint32Array.of(0, 2), Uint32Array.of(1, 1), Uint8Array.of(0x78, 0x79), names, Uint32Array.of(2), Uint32Array.of(2)), RangeError);
    assert.throws(() => f.encodeFields(out, 0, perm, 3, fStart, Uint32Array.of(0, 0), Uint32Array.of(0, 1), Uint32Array.of(1, 1), Uint8Array.of(0x78, 0x79), names, Uint32Array.of(2), Uint32Array.of(3)), RangeError);
    assert.throws(() => f.encodeFields(out, 0, perm, 3, fStart, Uint32Array.of(0, 1), Uint32Array.of(0, 1), Uint32Array.of(1, 1), Uint8Array.of(0x78, 0x79), names, Uint32Array.of(2), Uint32Array.of(2)), RangeError);
    assert.throws(() => f.encodeFields(new Uint8Array(8), 0, perm, 3, fStart, Uint32Array.of(0, 0), Uint32Array.of(0, 1), Uint32Array.of(1, 1), Uint8Array.of(0x78, 0x79), names, Uint32Array.of(2), Uint32Array.of(2)), RangeError);
    // Counts that wrap around 2^32, or that ask for more entries than there are.
    const fields = (counts: Uint32Array, nameEnds: Uint32Array) => () =>
      f.encodeFields(out, 0, perm, 3, fStart, Uint32Array.of(0, 0), Uint32Array.of(0, 1), Uint32Array.of(1, 1), Uint8Array.of(0x78, 0x79), Uint8Array.of(1, 0x61, 1, 0x62), nameEnds, counts);
    assert.throws(fields(Uint32Array.of(0xffffffff, 1), Uint32Array.of(2, 4)), RangeError);
    assert.throws(fields(Uint32Array.of(0xf0000000), Uint32Array.of(2)), RangeError);
    // A key range far larger than the keys: sorted as with the keys' own range.
    const sorted = new Uint32Array(3);
    f.orderRows(Uint32Array.of(2, 1, 1), 2 ** 30, Uint32Array.of(1, 1, 0), 2 ** 30, 3, sorted);
    assert.deepEqual([...sorted], [2, 1, 0]);
  });

  it('refuse an output that shares memory with an input, and arrays over a SharedArrayBuffer', () => {
    const f = native!;
    const mem = new ArrayBuffer(256);
    const perm = new Uint32Array(mem, 0, 3).fill(0);
    const out = new Uint8Array(mem, 0, 128); // over perm
    const vals = Uint32Array.of(1000, 2000, 3000);
    assert.throws(() => f.putUvarints(out, 0, vals, perm, 0, 3), RangeError);
    assert.throws(() => f.orderRows(perm, 4, Uint32Array.of(0, 0, 0), 1, 3, perm), RangeError);
    const ts = Float64Array.of(1, 2, 3);
    const u = Uint32Array.of(0, 0, 0);
    const b = Uint8Array.of(0, 0, 0);
    assert.throws(() => f.encodeRows(new Uint8Array(ts.buffer), 0, Uint32Array.of(0, 1, 2), 3, ts, u, ts, u, b, b, 1, 0, 1), RangeError);
    const fLen = new Uint32Array(mem, 128, 2).fill(1);
    const fieldsOut = new Uint8Array(mem, 120, 100); // over fLen
    assert.throws(() => f.encodeFields(fieldsOut, 0, Uint32Array.of(0, 1, 2), 3, Uint32Array.of(0, 1, 2, 2), Uint32Array.of(0, 0), Uint32Array.of(0, 1), fLen, Uint8Array.of(0x78, 0x79), Uint8Array.of(1, 0x61), Uint32Array.of(2), Uint32Array.of(2)), RangeError);
    const shared = new Uint8Array(new SharedArrayBuffer(64));
    assert.throws(() => f.putUvarints(shared, 0, vals, Uint32Array.of(0, 1, 2), 0, 3), TypeError);
    assert.throws(() => f.putUvarints(new Uint8Array(64), 0, new Uint32Array(new SharedArrayBuffer(12)), Uint32Array.of(0, 1, 2), 0, 3), TypeError);
  });
});
