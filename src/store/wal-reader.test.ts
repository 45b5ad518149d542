/**
 * scanWalFile over real files: every valid entry in order; a torn tail (cut anywhere in
 * the last entry) loses only that entry and is reported; damage in the middle loses
 * only the damaged entry, the ones after it are still read, and the bytes are counted.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { FILE_HEADER_SIZE, FORMAT_VERSION, WAL_ENTRY_HEADER_SIZE, WAL_ENTRY_MAGIC, WAL_FILE_MAGIC, WAL_KEYED_VERSION } from './consts.js';
import { newWalKey, walMask } from './wal-key.js';
import { encodeEntry, type DecodedEntry } from './wal-entry.js';
import { endOfNonZero, listWalFiles, scanWalFile, walFileName } from './wal-reader.js';
import { forgedEntry, maskedEntry, parse, rmDir, tempDir } from './test-helpers.js';

const dir = tempDir('ringlog-wal-reader-');
after(() => rmDir(dir));

function fileHeader(firstLsn: number, version = FORMAT_VERSION): Buffer {
  const h = Buffer.alloc(FILE_HEADER_SIZE);
  h.writeUInt32LE(WAL_FILE_MAGIC, 0);
  h.writeUInt32LE(version, 4);
  h.writeDoubleLE(firstLsn, 8);
  return h;
}

/** Entries lsn first … first+n-1, each a few records of a different size. */
function entries(first: number, n: number): Buffer[] {
  return Array.from({ length: n }, (_, k) => {
    const lsn = first + k;
    const frames = Array.from({ length: 1 + (k % 3) }, (_, i) => `<13>1 2026-11-22T09:00:0${i}Z host app - - - entry ${lsn} record ${i} ${'x'.repeat(k * 7)}`);
    return Buffer.from(encodeEntry([parse('rfc5424', frames)], lsn).entry);
  });
}

let seq = 0;
function write(bytes: Buffer): string {
  const p = join(dir, `f${seq++}.wal`);
  writeFileSync(p, bytes);
  return p;
}

function scan(path: string, fromLsn = 0) {
  const got: DecodedEntry[] = [];
  const res = scanWalFile(path, fromLsn, (e) => got.push(e));
  return { res, lsns: got.map((e) => e.lsn), got };
}

const ENTRIES = entries(10, 6);
const FILE = Buffer.concat([fileHeader(10), ...ENTRIES]);
/** Offsets where each entry starts in FILE. */
const STARTS = ENTRIES.map((_, i) => FILE_HEADER_SIZE + ENTRIES.slice(0, i).reduce((s, e) => s + e.length, 0));

test('a clean file: every entry in LSN order, nothing reported', () => {
  const { res, lsns, got } = scan(write(FILE));
  assert.deepEqual(lsns, [10, 11, 12, 13, 14, 15]);
  assert.deepEqual(res, { path: res.path, missing: false, validEnd: FILE.length, size: FILE.length, tornTail: 0, damagedBytes: 0, badEntries: 0, headerDamaged: false, lastLsn: 15 });
  // The frames are there to parse again.
  assert.equal(got[2]!.batches[0]!.count, 3);
  // Only entries past fromLsn are delivered; lastLsn still counts them all.
  const past = scan(write(FILE), 12);
  assert.deepEqual(past.lsns, [13, 14, 15]);
  assert.equal(past.res.lastLsn, 15);
  // A header alone: an empty, valid file.
  const empty = scan(write(fileHeader(99)));
  assert.deepEqual(empty.lsns, []);
  assert.equal(empty.res.validEnd, FILE_HEADER_SIZE);
  assert.equal(empty.res.tornTail, 0);
});

test('a torn tail, cut at every byte of the last entry: only that entry is lost, the tail is reported', () => {
  const last = STARTS[STARTS.length - 1]!;
  for (let cut = last; cut < FILE.length; cut++) {
    const { res, lsns } = scan(write(FILE.subarray(0, cut)));
    assert.deepEqual(lsns, [10, 11, 12, 13, 14], `cut at ${cut}`);
    assert.equal(res.validEnd, last, `cut at ${cut}`);
    // Zeros at the end of the cut are not data (a prepared file's zeros look the same).
    assert.equal(res.tornTail, endOfNonZero(FILE, last, cut) - last, `cut at ${cut}`);
    assert.equal(res.damagedBytes, 0);
    assert.equal(res.lastLsn, 14);
  }
  // A torn tail of garbage holding the entry magic: up to its last non-zero byte.
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(WAL_ENTRY_MAGIC);
  const garbage = Buffer.concat([magic, Buffer.alloc(30, 0xff), magic, Buffer.from([1, 0, 0, 0])]);
  for (const [tail, torn] of [[garbage, garbage.length - 3], [Buffer.concat([garbage, Buffer.alloc(5000)]), garbage.length - 3]] as const) {
    const { res, lsns } = scan(write(Buffer.concat([FILE, tail])));
    assert.deepEqual(lsns, [10, 11, 12, 13, 14, 15]);
    assert.equal(res.tornTail, torn);
    assert.equal(res.validEnd, FILE.length);
  }
});

test('a prepared file (zeros past the last entry): the log ends where the zeros begin, nothing reported', () => {
  for (const zeros of [4, 100, 256 * 1024]) {
    const { res, lsns } = scan(write(Buffer.concat([FILE, Buffer.alloc(zeros)])));
    assert.deepEqual(lsns, [10, 11, 12, 13, 14, 15]);
    assert.equal(res.validEnd, FILE.length);
    assert.equal(res.tornTail, 0);
    assert.equal(res.damagedBytes, 0);
  }
  // Nothing written yet but the header.
  const empty = scan(write(Buffer.concat([fileHeader(10), Buffer.alloc(64 * 1024)])));
  assert.deepEqual(empty.lsns, []);
  assert.equal(empty.res.tornTail, 0);
  // An entry torn in a prepared file: the part written is the torn tail, the zeros are not.
  const last = STARTS[STARTS.length - 1]!;
  const cut = last + 40;
  const torn = scan(write(Buffer.concat([FILE.subarray(0, cut), Buffer.alloc(8192)])));
  assert.deepEqual(torn.lsns, [10, 11, 12, 13, 14]);
  assert.equal(torn.res.tornTail, endOfNonZero(FILE, last, cut) - last);
  // The last entry may end in zero bytes of its own: it is still read whole.
  const zeroEnd = Buffer.from(encodeEntry([parse('rfc5424', ['<13>1 2026-11-22T09:00:00Z h a - - - x\0\0\0\0\0\0'])], 16).entry);
  assert.equal(zeroEnd.readUInt32LE(zeroEnd.length - 4), 0, 'the entry ends in zero bytes');
  const withZeroEnd = Buffer.concat([FILE, zeroEnd, Buffer.alloc(1000)]);
  assert.deepEqual(scan(write(withZeroEnd)).lsns, [10, 11, 12, 13, 14, 15, 16]);
});

test('zeros where an entry should begin end the log, whatever follows (a write cut short by a crash after the end mark of the one before was never acknowledged)', () => {
  const hole = Buffer.from(FILE);
  hole.fill(0, STARTS[3]!, STARTS[4]!);
  const { res, lsns } = scan(write(hole));
  assert.deepEqual(lsns, [10, 11, 12]);
  assert.deepEqual([res.validEnd, res.damagedBytes, res.tornTail], [STARTS[3], 0, 0]);
  // Garbage is damage, skipped to the next entry.
  const bad = Buffer.from(FILE);
  bad.fill(0x55, STARTS[3]!, STARTS[4]!);
  const r2 = scan(write(bad));
  assert.deepEqual(r2.lsns, [10, 11, 12, 14, 15]);
  assert.equal(r2.res.damagedBytes, STARTS[4]! - STARTS[3]!);
});

/** A recycled file named by `firstLsn` (its name is what readers go by): `fresh` written from the start over `old`, then an end mark. */
function recycled(firstLsn: number, old: Buffer, fresh: Buffer[], mark = true): { path: string; bytes: Buffer; ends: number[] } {
  const bytes = Buffer.from(old);
  let at = FILE_HEADER_SIZE;
  fileHeader(firstLsn).copy(bytes, 0);
  const ends: number[] = [];
  for (const e of fresh) {
    e.copy(bytes, at);
    at += e.length;
    ends.push(at);
  }
  if (mark) bytes.fill(0, at, at + 4);
  const sub = join(dir, `r${seq++}`);
  mkdirSync(sub);
  const path = join(sub, walFileName(firstLsn));
  writeFileSync(path, bytes);
  return { path, bytes, ends };
}

/** The entries of a recycled file's earlier use: LSNs 10–39, more bytes than the new ones below take. */
const OLD = Buffer.concat([fileHeader(10), ...entries(10, 30)]);
const NEW = entries(100, 3);

test('a recycled file: the log ends at the end mark; no entry of the earlier use is read, whatever follows; nothing is reported', () => {
  const r = recycled(100, OLD, NEW);
  const { res, lsns } = scan(r.path);
  assert.deepEqual(lsns, [100, 101, 102]);
  assert.equal(res.validEnd, r.ends[2]);
  assert.deepEqual([res.tornTail, res.damagedBytes, res.badEntries, res.lastLsn], [0, 0, 0, 102]);
  // Just recycled: the header and its end mark, then the old entries from the old first on.
  const empty = recycled(100, OLD, []);
  assert.deepEqual(scan(empty.path).lsns, []);
  assert.equal(scan(empty.path).res.tornTail, 0);
  // Renamed into place, the header not yet rewritten: the name rules, the old entries are not read.
  const sub = join(dir, `r${seq++}`);
  mkdirSync(sub);
  writeFileSync(join(sub, walFileName(100)), OLD);
  const unwritten = scan(join(sub, walFileName(100)));
  assert.deepEqual(unwritten.lsns, []);
  assert.equal(unwritten.res.tornTail + unwritten.res.damagedBytes, 0);
  // No end mark, and an old entry starting right where the new ones end: the log ends there too.
  const flush = Buffer.concat([fileHeader(100), ...NEW, ...entries(10, 5)]);
  const f = recycled(100, flush, [], false);
  assert.deepEqual(scan(f.path).lsns, [100, 101, 102]);
  assert.equal(scan(f.path).res.tornTail, 0);
  // fromLsn still applies; lastLsn is the new entries' last.
  const part = scanWalFile(r.path, 101, () => {});
  assert.equal(part.lastLsn, 102);
});

test('a recycled file: a torn write over old entries is a torn tail (cut at every byte of the entry), and no old entry is read', () => {
  const last = NEW[2]!;
  for (let cut = 1; cut < last.length; cut += 3) {
    // The new entry's first `cut` bytes reached the disk; the rest is still the old bytes.
    const r = recycled(100, OLD, [NEW[0]!, NEW[1]!, last.subarray(0, cut)], false);
    const { res, lsns } = scan(r.path);
    assert.deepEqual(lsns, [100, 101], `cut at ${cut}`);
    assert.equal(res.validEnd, r.ends[1]);
    assert.ok(res.tornTail >= cut, `cut at ${cut}: a torn tail of ${res.tornTail} bytes`);
    assert.equal(res.damagedBytes, 0);
    // It runs to the next intact old entry, not to the end of the file.
    assert.ok(r.ends[1]! + res.tornTail < OLD.length, `cut at ${cut}`);
  }
});

test('a recycled file: a write whose first page did not reach the disk (the end mark of the one before left) ends the log there; damage in an entry is skipped', () => {
  // Write 1: entry 100 and its end mark. Write 2: entries 101 and 102, of which only 102
  // reached the disk: 101's place holds write 1's end mark and then old bytes. Write 2
  // was never acknowledged.
  const r = recycled(100, OLD, NEW);
  const bytes = Buffer.from(r.bytes);
  OLD.copy(bytes, r.ends[0]!, r.ends[0]!, r.ends[1]!);
  bytes.fill(0, r.ends[0]!, r.ends[0]! + 4);
  writeFileSync(r.path, bytes);
  const { res, lsns } = scan(r.path);
  assert.deepEqual(lsns, [100]);
  assert.deepEqual([res.validEnd, res.damagedBytes, res.tornTail], [r.ends[0], 0, 0]);
  // Damage (not an end mark) in a new entry: that entry is lost, the next read, the old ones never.
  const d = recycled(100, OLD, NEW);
  const bad = Buffer.from(d.bytes);
  bad[FILE_HEADER_SIZE + 30]! ^= 0x40;
  writeFileSync(d.path, bad);
  const rd = scan(d.path);
  assert.deepEqual(rd.lsns, [101, 102]);
  assert.equal(rd.res.damagedBytes, d.ends[0]! - FILE_HEADER_SIZE);
});

test('well-formed entries inside messages: never read past the end of the log, and never taken past damage with an LSN that cannot follow', () => {
  // An earlier use whose messages hold forged entries, and a new use that ends inside them.
  const msgs = Array.from({ length: 40 }, (_, k) => Buffer.concat([Buffer.from(`m${k} `), forgedEntry(k % 2 === 0 ? 1e12 : 101)]));
  const old = Buffer.concat([fileHeader(10), Buffer.from(encodeEntry([parse('raw', msgs)], 10).entry)]);
  for (const fresh of [[], [NEW[0]!], [NEW[0]!, NEW[1]!]]) {
    const r = recycled(100, old, fresh);
    const got = scan(r.path);
    assert.deepEqual(got.lsns, fresh.map((_, k) => 100 + k), `${fresh.length} new entries`);
    assert.equal(got.res.lastLsn, fresh.length > 0 ? 99 + fresh.length : 0);
  }
  // Damage right before a message that holds forged entries: the scan goes on only at an
  // entry whose LSN can follow the last one read.
  const carrier = Buffer.from(encodeEntry([parse('raw', [Buffer.concat([Buffer.from('x '), forgedEntry(1e12), forgedEntry(5_000)])])], 12).entry);
  const file = Buffer.concat([fileHeader(10), ENTRIES[0]!, ENTRIES[1]!, carrier, ENTRIES[3]!]);
  file[FILE_HEADER_SIZE + ENTRIES[0]!.length + ENTRIES[1]!.length + 5]! ^= 0xff; // the carrier's own header
  const d = scan(write(file));
  assert.deepEqual(d.lsns, [10, 11, 13]);
  assert.equal(d.res.lastLsn, 13);
  assert.equal(d.res.damagedBytes, carrier.length);
});

test('a resync is bounded in a store\'s first file too (LSN 1), and entries that check out but do not decode count toward the bound', () => {
  const sub = join(dir, `r${seq++}`);
  mkdirSync(sub);
  // The first entry is damaged; a message in it holds an entry of LSN 2^52.
  const carrier = Buffer.from(encodeEntry([parse('raw', [Buffer.concat([Buffer.from('x '), forgedEntry(2 ** 52)])])], 1).entry);
  carrier[5]! ^= 0xff;
  const first = join(sub, walFileName(1));
  writeFileSync(first, Buffer.concat([fileHeader(1), carrier, ...entries(2, 2)]));
  const a = scanWalFile(first, 0, () => {});
  const got: number[] = [];
  scanWalFile(first, 0, (e) => got.push(e.lsn));
  assert.deepEqual(got, [2, 3]);
  assert.equal(a.lastLsn, 3);
  // Entries 12–16 check out but do not decode (an unknown format); 17 is damaged; 18 is read.
  const undecodable = (lsn: number) => {
    const e = Buffer.from(encodeEntry([parse('raw', ['x'])], lsn).entry);
    const at = e.indexOf('raw');
    e.write('rax', at, 'latin1');
    e.writeUInt32LE(crc32c(e.subarray(WAL_ENTRY_HEADER_SIZE)), 8);
    return e;
  };
  const bad17 = Buffer.from(encodeEntry([parse('raw', ['seventeen'])], 17).entry);
  bad17[5]! ^= 0xff;
  const path = join(sub, walFileName(10));
  writeFileSync(path, Buffer.concat([fileHeader(10), ...entries(10, 2), ...[12, 13, 14, 15, 16].map(undecodable), bad17, ...entries(18, 1)]));
  const r = scan(path);
  assert.deepEqual(r.lsns, [10, 11, 18]);
  assert.equal(r.res.badEntries, 5);
});

test('keyed checksums: an entry a sender put in a message, with an LSN that could follow, is taken past damage in a plain file and not in a keyed one', () => {
  const key = newWalKey(1);
  const sub = join(dir, `r${seq++}`);
  mkdirSync(sub);
  // Entries 10 and 11, then 12 whose message holds a well-formed entry 13 of the sender's, then 13 and 14.
  const plan = (salt: number) => {
    const keyed = (e: Buffer) => maskedEntry(e, salt);
    const carrier = keyed(Buffer.from(encodeEntry([parse('raw', [Buffer.concat([Buffer.from('x '), forgedEntry(13)])])], 12).entry));
    carrier[WAL_ENTRY_HEADER_SIZE + 3]! ^= 0xff; // damaged: its checksum fails
    const h = fileHeader(10);
    if (salt !== 0) h.writeUInt32LE(WAL_KEYED_VERSION, 4);
    return Buffer.concat([h, ...entries(10, 2).map(keyed), carrier, ...entries(13, 2).map(keyed)]);
  };
  const path = join(sub, walFileName(10));
  writeFileSync(path, plan(0));
  const plain: DecodedEntry[] = [];
  scanWalFile(path, 0, (e) => plain.push(e), { key: key.key, from: 11 }); // the key covers files from 11 on: this one is plain
  // Plain: the sender's entry 13 is taken for the log's, then the log's own.
  const text = (e: DecodedEntry) => { const b = e.batches[0]!; return b.buf.toString('latin1', b.offsets[0], b.offsets[1]); };
  assert.deepEqual(plain.map((e) => e.lsn), [10, 11, 13, 13, 14]);
  assert.equal(text(plain[2]!), 'forged record');
  writeFileSync(path, plan(walMask(key.key)));
  const keyed: DecodedEntry[] = [];
  const r = scanWalFile(path, 0, (e) => keyed.push(e), key);
  assert.deepEqual(keyed.map((e) => e.lsn), [10, 11, 13, 14]);
  assert.match(text(keyed[2]!), /entry 13 record 0/);
  assert.equal(r.headerDamaged, false);
});

test('endOfNonZero: the end of the non-zero bytes of a range', () => {
  const b = Buffer.alloc(200_000);
  assert.equal(endOfNonZero(b, 0), 0);
  assert.equal(endOfNonZero(b, 50), 50);
  b[70_000] = 1;
  assert.equal(endOfNonZero(b, 0), 70_001);
  assert.equal(endOfNonZero(b, 70_001), 70_001);
  assert.equal(endOfNonZero(b, 0, 70_000), 0);
  b[199_999] = 9;
  assert.equal(endOfNonZero(b, 0), 200_000);
  assert.equal(endOfNonZero(b, 0, 100_000), 70_001);
});

test('flipped bytes in a middle entry: that entry is skipped, later ones still read, damagedBytes reported', () => {
  const mid = 2;
  const start = STARTS[mid]!;
  const end = STARTS[mid + 1]!;
  for (let at = start; at < end; at++) {
    const bad = Buffer.from(FILE);
    bad[at]! ^= at % 2 === 0 ? 0x01 : 0xa5;
    const { res, lsns } = scan(write(bad));
    assert.deepEqual(lsns, [10, 11, 13, 14, 15], `byte ${at - start} of the entry flipped`);
    assert.equal(res.damagedBytes, end - start, `byte ${at - start}`);
    assert.equal(res.tornTail, 0);
    assert.equal(res.validEnd, FILE.length);
    assert.equal(res.lastLsn, 15);
  }
  // Two damaged entries in a row, and garbage inserted between two entries.
  const two = Buffer.from(FILE);
  two[STARTS[1]! + 20]! ^= 0xff;
  two[STARTS[2]! + 5]! ^= 0xff;
  const r2 = scan(write(two));
  assert.deepEqual(r2.lsns, [10, 13, 14, 15]);
  assert.equal(r2.res.damagedBytes, STARTS[3]! - STARTS[1]!);
  const inserted = Buffer.concat([FILE.subarray(0, STARTS[4]!), Buffer.alloc(37, 0x5a), FILE.subarray(STARTS[4]!)]);
  const r3 = scan(write(inserted));
  assert.deepEqual(r3.lsns, [10, 11, 12, 13, 14, 15]);
  assert.equal(r3.res.damagedBytes, 37);
});

test('an entry whose CRC is right but whose body does not decode is counted, and the scan goes on', () => {
  const body = Buffer.from([1, 0xff, 0xff]); // kind 1, then a truncated LSN
  const bad = Buffer.alloc(WAL_ENTRY_HEADER_SIZE + body.length);
  bad.writeUInt32LE(WAL_ENTRY_MAGIC, 0);
  bad.writeUInt32LE(body.length, 4);
  bad.writeUInt32LE(crc32c(body), 8);
  body.copy(bad, WAL_ENTRY_HEADER_SIZE);
  const file = Buffer.concat([fileHeader(10), ENTRIES[0]!, bad, ENTRIES[1]!]);
  const { res, lsns } = scan(write(file));
  assert.deepEqual(lsns, [10, 11]);
  assert.equal(res.badEntries, 1);
  assert.equal(res.damagedBytes, 0);
  assert.equal(res.validEnd, file.length);
});

test('a torn file header: nothing there; a damaged or other-version header: the entries are read anyway and the header reported; a missing file is reported', () => {
  for (const cut of [0, 1, 8, FILE_HEADER_SIZE - 1]) {
    const { res, lsns } = scan(write(FILE.subarray(0, cut)));
    assert.deepEqual(lsns, []);
    assert.equal(res.tornTail, cut);
  }
  const foreign = Buffer.from(FILE);
  foreign[0] = 0;
  const f = scan(write(foreign));
  assert.equal(f.res.headerDamaged, true);
  assert.equal(f.res.tornTail, 0);
  assert.deepEqual(f.lsns, scan(write(FILE)).lsns, 'every entry still read');
  const other = scan(write(Buffer.concat([fileHeader(10, FORMAT_VERSION + 2), ...ENTRIES])));
  assert.equal(other.res.headerDamaged, true);
  assert.deepEqual(other.lsns, scan(write(FILE)).lsns);
  const missing = scan(join(dir, 'nope.wal'));
  assert.equal(missing.res.missing, true);
  assert.deepEqual(missing.lsns, []);
});

test('listWalFiles: WAL files by first LSN (numerically), other names ignored; no directory is no files', () => {
  const wal = join(dir, 'list');
  mkdirSync(wal);
  for (const lsn of [0x10, 2, 0xabcdef, 1]) writeFileSync(join(wal, walFileName(lsn)), fileHeader(lsn));
  for (const other of ['x.wal', '00000000000000001.wal', '0000000000000001.wal.tmp', 'README']) writeFileSync(join(wal, other), '');
  assert.deepEqual(listWalFiles(wal).map((f) => f.firstLsn), [1, 2, 0x10, 0xabcdef]);
  assert.equal(listWalFiles(wal)[0]!.path, join(wal, '0000000000000001.wal'));
  assert.deepEqual(listWalFiles(join(dir, 'no-such-dir')), []);
});
