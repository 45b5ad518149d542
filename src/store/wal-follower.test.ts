/**
 * WalFollower on WAL files written the way the WAL writer lays them out: every entry
 * once and in order across file rotations, from the end or from the start; an entry
 * whose bytes are half written waits for the rest; damage is skipped up to the next
 * entry; a file deleted after it was opened is still read to its end, one recycled is
 * left for the newer files; a follower too
 * far behind skips ahead and counts the records it skipped; entries it never got to
 * read (a file recycled or deleted first) are counted as lost, and no others; a
 * follower two or more files behind jumps to the newest file without reading the
 * files in between and counts their entries as lost, one a file behind does not jump,
 * and one reading from the start never does.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { FILE_HEADER_SIZE, FORMAT_FILE, STORE_VERSION, WAL_DIR, WAL_ENTRY_HEADER_SIZE, WAL_FILE_MAGIC, WAL_KEYED_VERSION } from './consts.js';
import { formatText, newWalKey, walMask } from './wal-key.js';
import { encodeEntry } from './wal-entry.js';
import { walFileName } from './wal-reader.js';
import { fileHeader } from './segment.js';
import { WalFollower } from './wal-follower.js';
import { forgedEntry, maskedEntry, parse, rmDir, tempDir } from './test-helpers.js';

const root = tempDir('ringlog-wal-follower-');
after(() => rmDir(root));
let n = 0;

/** A store root with an empty WAL directory. */
function newStore(): { root: string; wal: string } {
  const r = join(root, `s${n++}`);
  mkdirSync(join(r, WAL_DIR), { recursive: true });
  return { root: r, wal: join(r, WAL_DIR) };
}

/** The bytes of entry `lsn`: `frames` records. */
function entry(lsn: number, frames = 2): Buffer {
  const b = parse('raw', Array.from({ length: frames }, (_, k) => `entry ${lsn} frame ${k}`));
  return Buffer.from(encodeEntry([b], lsn).entry);
}

function newFile(wal: string, firstLsn: number): string {
  const path = join(wal, walFileName(firstLsn));
  writeFileSync(path, fileHeader(WAL_FILE_MAGIC));
  return path;
}

const fsModule = createRequire(import.meta.url)('node:fs') as { openSync: typeof openSync };

/** Runs `fn` with every path opened by fs.openSync (as WalFollower opens each WAL file it reads) recorded. */
function recordingOpens<T>(fn: () => T): { result: T; opened: string[] } {
  const real = fsModule.openSync;
  const opened: string[] = [];
  fsModule.openSync = ((path: Parameters<typeof openSync>[0], ...rest: unknown[]) => {
    opened.push(String(path));
    return (real as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof openSync;
  syncBuiltinESMExports();
  try {
    return { result: fn(), opened };
  } finally {
    fsModule.openSync = real;
    syncBuiltinESMExports();
  }
}

function poll(f: WalFollower): { lsns: number[]; skipped: number; lost: number } {
  const lsns: number[] = [];
  const r = f.poll((e) => lsns.push(e.lsn));
  return { lsns, skipped: r.skippedRecords, lost: r.lostEntries };
}

test('from the end: only entries appended after it started, in order, across files', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  for (let l = 1; l <= 3; l++) appendFileSync(f1, entry(l));
  const f = new WalFollower(s.root, { from: 'end' });
  assert.deepEqual(poll(f), { lsns: [], skipped: 0, lost: 0 });
  appendFileSync(f1, entry(4));
  appendFileSync(f1, entry(5));
  assert.deepEqual(poll(f), { lsns: [4, 5], skipped: 0, lost: 0 }, 'the entries before the start are not lost ones');
  // The writer moves to a new file: the follower finishes the old one first.
  appendFileSync(f1, entry(6));
  const f2 = newFile(s.wal, 7);
  appendFileSync(f2, entry(7));
  assert.deepEqual(poll(f).lsns, [6, 7]);
  assert.deepEqual(poll(f).lsns, []);
  appendFileSync(f2, entry(8));
  assert.deepEqual(poll(f).lsns, [8]);
  f.stop();
});

test('from the start: every entry of every file; a file deleted after it was opened is read to its end', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  appendFileSync(f1, entry(1));
  const f = new WalFollower(s.root, { from: 'start' });
  assert.deepEqual(poll(f).lsns, [1]);
  appendFileSync(f1, entry(2));
  const f2 = newFile(s.wal, 3);
  appendFileSync(f2, entry(3));
  // A commit deletes the first file while the follower still has it open.
  unlinkSync(f1);
  assert.deepEqual(poll(f).lsns, [2, 3]);
  f.stop();
});

test('a file recycled while a follower has it open (renamed away, zeroed, reused as a newer WAL file): the follower leaves it and reads the newer files in order, none of their entries lost or taken from the old descriptor', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  for (let l = 1; l <= 3; l++) appendFileSync(f1, entry(l));
  const f = new WalFollower(s.root, { from: 'start' });
  assert.deepEqual(poll(f).lsns, [1, 2, 3]);
  // Entries 4 and 5 go into the first file, then the writer moves on; a commit covers
  // both, and the writer recycles the first file: renamed, overwritten (zeroed here), then the
  // WAL file after the second one, written from its start with larger entries, so that
  // the old descriptor's position falls inside one of them and the next starts after it.
  appendFileSync(f1, entry(4));
  appendFileSync(f1, entry(5));
  const f2 = newFile(s.wal, 6);
  for (let l = 6; l <= 7; l++) appendFileSync(f2, entry(l));
  const spare = join(s.wal, 'next.walprep.tmp');
  renameSync(f1, spare);
  const size = statSync(spare).size;
  const fd = openSync(spare, 'r+');
  writeSync(fd, Buffer.alloc(size), 0, size, 0);
  writeSync(fd, fileHeader(WAL_FILE_MAGIC), 0, FILE_HEADER_SIZE, 0);
  let at = FILE_HEADER_SIZE;
  for (let l = 8; l <= 10; l++) {
    const e = entry(l, 6);
    writeSync(fd, e, 0, e.length, at);
    at += e.length;
  }
  closeSync(fd);
  const f3 = join(s.wal, walFileName(8));
  renameSync(spare, f3);
  assert.ok(at > size, 'the new entries reach past where the follower stopped');
  // 4 and 5 went with the recycled file before the follower read them: counted, not delivered.
  assert.deepEqual(poll(f), { lsns: [6, 7, 8, 9, 10], skipped: 0, lost: 2 });
  appendFileSync(f3, entry(11));
  assert.deepEqual(poll(f).lsns, [11]);
  f.stop();
});

test('an entry half written waits for its end; damage is skipped up to the next entry', async () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  const f = new WalFollower(s.root, { from: 'start', damageWaitMs: 50 });
  const e2 = entry(2);
  appendFileSync(f1, entry(1));
  appendFileSync(f1, e2.subarray(0, 7));
  assert.deepEqual(poll(f).lsns, [1]);
  appendFileSync(f1, e2.subarray(7, 20));
  assert.deepEqual(poll(f).lsns, []);
  appendFileSync(f1, e2.subarray(20));
  assert.deepEqual(poll(f).lsns, [2]);
  appendFileSync(f1, Buffer.from('garbage that is not an entry, long enough to hold a header'));
  appendFileSync(f1, entry(3));
  // Waited on first (it could be an entry still being copied in), then skipped.
  assert.deepEqual(poll(f).lsns, []);
  await sleep(80);
  assert.deepEqual(poll(f).lsns, [3]);
  f.stop();
});

test('a prepared file: zeros are where the writer is; entries written over them are read, a half-copied one is waited on', () => {
  const s = newStore();
  const path = join(s.wal, walFileName(1));
  writeFileSync(path, Buffer.concat([fileHeader(WAL_FILE_MAGIC), Buffer.alloc(3 * 1024 * 1024)]));
  const fd = openSync(path, 'r+');
  let at = FILE_HEADER_SIZE;
  const put = (b: Buffer) => {
    writeSync(fd, b, 0, b.length, at);
    at += b.length;
  };
  const f = new WalFollower(s.root, { from: 'start', damageWaitMs: 60_000 });
  assert.deepEqual(poll(f).lsns, []);
  put(entry(1));
  put(entry(2));
  assert.deepEqual(poll(f).lsns, [1, 2]);
  assert.deepEqual(poll(f).lsns, []);
  // An entry whose bytes are there only in part (a reader racing the page-cache copy):
  // the start written, a stretch still zero, the end written.
  const e3 = entry(3, 50);
  const start = at;
  writeSync(fd, e3, 0, 40, start);
  writeSync(fd, e3, e3.length - 40, 40, start + e3.length - 40);
  assert.deepEqual(poll(f).lsns, []);
  writeSync(fd, e3, 0, e3.length, start);
  at = start + e3.length;
  assert.deepEqual(poll(f).lsns, [3]);
  // A follower started at the end of a prepared file starts at the writer's position, not at the file's size.
  const g = new WalFollower(s.root, { from: 'end' });
  put(entry(4));
  assert.deepEqual(poll(g).lsns, [4]);
  assert.deepEqual(poll(f).lsns, [4]);
  // Past 1 MiB of entries (more than one read): still every entry.
  const many: number[] = [];
  for (let l = 5; at < FILE_HEADER_SIZE + 2.5 * 1024 * 1024; l++) {
    put(entry(l, 200));
    many.push(l);
  }
  assert.deepEqual(poll(f).lsns, many);
  assert.deepEqual(poll(g).lsns, many);
  // maxBehind counts the entries, not the zeros past them: a follower within it reads them all.
  const h = new WalFollower(s.root, { from: 'start', maxBehind: 4 * 1024 * 1024 });
  const all = poll(h);
  assert.equal(all.skipped, 0);
  assert.deepEqual(all.lsns, [1, 2, 3, 4, ...many]);
  closeSync(fd);
  for (const x of [f, g, h]) x.stop();
});

/**
 * A recycled WAL file named by `firstLsn`: the bytes of an earlier use (entries 1 on,
 * all below firstLsn, `oldBytes` long) under its new name. Returns a writer that puts
 * the end mark after the header (`begin`, as WalWriter does first) and then entries at
 * its position, each followed by an end mark.
 */
function recycledFile(wal: string, firstLsn: number, oldBytes = 256 * 1024): { path: string; begin: () => void; put: (b: Buffer, mark?: boolean) => void; at: () => number; close: () => void } {
  const path = join(wal, walFileName(firstLsn));
  const old: Buffer[] = [fileHeader(WAL_FILE_MAGIC)];
  let size = FILE_HEADER_SIZE;
  for (let l = 1; size < oldBytes; l++) {
    assert.ok(l < firstLsn);
    const e = entry(l, 1 + (l % 7));
    old.push(e);
    size += e.length;
  }
  writeFileSync(path, Buffer.concat(old));
  const fd = openSync(path, 'r+');
  let at = FILE_HEADER_SIZE;
  return {
    path,
    begin: () => writeSync(fd, Buffer.alloc(4), 0, 4, FILE_HEADER_SIZE),
    put: (b, mark = true) => {
      writeSync(fd, b, 0, b.length, at);
      at += b.length;
      if (mark) writeSync(fd, Buffer.alloc(4), 0, 4, at);
    },
    at: () => at,
    close: () => closeSync(fd),
  };
}

test('a recycled file being written: the follower stops at the end mark, never reads the earlier use\'s entries, and reads the new ones as they come', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 10001);
  appendFileSync(f1, entry(10001));
  const f = new WalFollower(s.root, { from: 'start', damageWaitMs: 0 });
  assert.deepEqual(poll(f).lsns, [10001]);
  const r = recycledFile(s.wal, 10002);
  // Renamed into place, nothing written yet: the old entries are not this file's.
  assert.deepEqual(poll(f), { lsns: [], skipped: 0, lost: 0 });
  // The end mark after the header, the old entries after that.
  r.begin();
  assert.deepEqual(poll(f), { lsns: [], skipped: 0, lost: 0 });
  const from = new WalFollower(s.root, { from: 'end' });
  r.put(entry(10002));
  r.put(entry(10003, 30));
  assert.deepEqual(poll(f).lsns, [10002, 10003]);
  assert.deepEqual(poll(from).lsns, [10002, 10003]);
  // An entry caught half written over the old bytes: waited on (damageWaitMs 0: at once
  // a stretch to skip, but no entry of this file follows it in the file), then read.
  const e4 = entry(10004, 40);
  r.put(e4.subarray(0, 50), false);
  assert.deepEqual(poll(f), { lsns: [], skipped: 0, lost: 0 });
  r.put(e4.subarray(50));
  assert.deepEqual(poll(f).lsns, [10004]);
  // From the end, started now: at the end mark, not at the file's size.
  const late = new WalFollower(s.root, { from: 'end' });
  r.put(entry(10005));
  assert.deepEqual(poll(late).lsns, [10005]);
  assert.deepEqual(poll(f).lsns, [10005]);
  // A live tail's follower (finite maxBehind) counts the entries, not the old bytes, as what it is behind.
  const tail = new WalFollower(s.root, { from: 'start', maxBehind: 64 * 1024 });
  assert.deepEqual(poll(tail), { lsns: [10001, 10002, 10003, 10004, 10005], skipped: 0, lost: 0 });
  // The writer moves on: the rest of the file (the old entries) is not read.
  r.close();
  appendFileSync(newFile(s.wal, 10006), entry(10006));
  assert.deepEqual(poll(from), { lsns: [10004, 10005, 10006], skipped: 0, lost: 0 });
  for (const x of [f, late, tail]) assert.deepEqual(poll(x), { lsns: [10006], skipped: 0, lost: 0 });
  for (const x of [f, from, late, tail]) x.stop();
});

test('a recycled file the writer is done with: a write cut short by a crash (the end mark before it left, its first entry not on disk) is not read; the next file is', () => {
  const s = newStore();
  const r = recycledFile(s.wal, 10001);
  r.begin();
  r.put(entry(10001));
  // Entries 10002 and 10003 were one write; only 10003 reached the disk. The server restarted at 10004.
  const hole = r.at();
  const e2 = entry(10002);
  r.put(Buffer.alloc(e2.length, 0), false);
  writeSync(openSync(r.path, 'r+'), Buffer.from([0x11, 0x22, 0x33]), 0, 3, hole + 4);
  r.put(entry(10003));
  r.close();
  appendFileSync(newFile(s.wal, 10004), entry(10004));
  const f = new WalFollower(s.root, { from: 'start' });
  // 10002 and 10003 were never acknowledged: the follower counts them missed, as it counts every gap.
  assert.deepEqual(poll(f), { lsns: [10001, 10004], skipped: 0, lost: 2 });
  f.stop();
});

test('damage before a message that holds well-formed entries: the follower goes on only at an entry whose LSN can follow the last one it read', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  const carrier = Buffer.from(encodeEntry([parse('raw', [Buffer.concat([Buffer.from('x '), forgedEntry(1e12), forgedEntry(9_000)])])], 3).entry);
  carrier[5]! ^= 0xff; // its own header: damaged
  for (const b of [entry(1), entry(2), carrier, entry(4)]) appendFileSync(f1, b);
  // The next file starts far on (as after a restart that found later entries), so that
  // the next file's first LSN does not bound the forged ones.
  appendFileSync(newFile(s.wal, 20_000), entry(20_000));
  const f = new WalFollower(s.root, { from: 'start', damageWaitMs: 0 });
  assert.deepEqual(poll(f), { lsns: [1, 2, 4, 20_000], skipped: 0, lost: 1 + (20_000 - 5) });
  f.stop();
  // The same in a store's first file, still being written (no next file to bound the
  // LSNs), its first entry damaged (no entry read yet, LSN 1).
  const t = newStore();
  const first = Buffer.from(encodeEntry([parse('raw', [Buffer.concat([Buffer.from('x '), forgedEntry(2 ** 52)])])], 1).entry);
  first[WAL_ENTRY_HEADER_SIZE + 3]! ^= 0xff; // its body: its CRC fails, its length still holds (a live file waits on a length past what is there)
  const t1 = newFile(t.wal, 1);
  for (const b of [first, entry(2), entry(3)]) appendFileSync(t1, b);
  const g = new WalFollower(t.root, { from: 'start', damageWaitMs: 0 });
  assert.deepEqual(poll(g).lsns, [2, 3]);
  g.stop();
});

test('damage in a file the writer is done with, the next entry crossing the end of a read: that entry is read', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  const big = (lsn: number, frames: number) => Buffer.from(encodeEntry([parse('raw', Array.from({ length: frames }, (_, k) => `entry ${lsn} frame ${k} ${'y'.repeat(40)}`))], lsn).entry);
  const e2 = big(2, 1000);
  e2[5]! ^= 0xff;
  const e3 = big(3, 200);
  const e1 = entry(1);
  // Entry 3 starts before 64 KiB into the file and ends after it.
  assert.ok(FILE_HEADER_SIZE + e1.length + e2.length < 64 * 1024 && FILE_HEADER_SIZE + e1.length + e2.length + e3.length > 64 * 1024);
  for (const b of [e1, e2, e3, entry(4)]) appendFileSync(f1, b);
  appendFileSync(newFile(s.wal, 5), entry(5));
  const f = new WalFollower(s.root, { from: 'start', damageWaitMs: 0 });
  assert.deepEqual(poll(f), { lsns: [1, 3, 4, 5], skipped: 0, lost: 1 });
  f.stop();
});

test('a store with a WAL key: the files it covers (named from its `from` LSN on) are read keyed, older ones plain; a follower started before the store had a key reads FORMAT again', () => {
  const s = newStore();
  const f = new WalFollower(s.root, { from: 'start' });
  // A file of the store before it had a key: plain.
  const f1 = newFile(s.wal, 1);
  for (const l of [1, 2]) appendFileSync(f1, entry(l));
  assert.deepEqual(poll(f).lsns, [1, 2]);
  // A newer server gives the store its key, covering files from LSN 3 on.
  const key = newWalKey(3);
  writeFileSync(join(s.root, FORMAT_FILE), formatText(STORE_VERSION, key));
  const keyed = (b: Buffer) => maskedEntry(b, walMask(key.key));
  const header = fileHeader(WAL_FILE_MAGIC);
  header.writeUInt32LE(WAL_KEYED_VERSION, 4);
  writeFileSync(join(s.wal, walFileName(3)), Buffer.concat([header, keyed(entry(3)), keyed(entry(4)), Buffer.alloc(4)]));
  assert.deepEqual(poll(f).lsns, [3, 4]);
  // In a file the key covers, a plain checksum does not check out.
  writeFileSync(join(s.wal, walFileName(5)), Buffer.concat([header, entry(5), Buffer.alloc(4)]));
  assert.deepEqual(poll(f).lsns, []);
  f.stop();
});

test('a follower too far behind skips ahead and counts what it skipped', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  const f = new WalFollower(s.root, { from: 'end', maxBehind: 2000 });
  let bytes = 0;
  let l = 1;
  while (bytes < 5000) {
    const e = entry(l++, 5);
    appendFileSync(f1, e);
    bytes += e.length;
  }
  const r = poll(f);
  assert.deepEqual(r.lsns, []);
  assert.equal(r.skipped, 5 * (l - 1));
  appendFileSync(f1, entry(l, 5));
  assert.deepEqual(poll(f), { lsns: [l], skipped: 0, lost: 0 }, 'skipped entries are counted as skipped, not as lost');
  f.stop();
});

test('a prepared file: bytes past the last whole entry are read again (an entry caught mid-copy at the end of a file is not lost)', () => {
  const s = newStore();
  const path = join(s.wal, walFileName(1));
  writeFileSync(path, Buffer.concat([fileHeader(WAL_FILE_MAGIC), Buffer.alloc(4096 - FILE_HEADER_SIZE)]));
  const fd = openSync(path, 'r+');
  const e1 = entry(1);
  writeSync(fd, e1, 0, e1.length, FILE_HEADER_SIZE);
  const f = new WalFollower(s.root, { from: 'start', damageWaitMs: 60_000 });
  assert.deepEqual(poll(f).lsns, [1]);
  // Entry 2 crosses the prepared size; the poll sees its header and first bytes, zeros after.
  const e2 = entry(2, 400);
  const at2 = FILE_HEADER_SIZE + e1.length;
  assert.ok(at2 + e2.length > 4096);
  writeSync(fd, e2, 0, 40, at2);
  assert.deepEqual(poll(f).lsns, []);
  // The writer finishes it (the file grows) and moves on to the next file.
  writeSync(fd, e2, 0, e2.length, at2);
  closeSync(fd);
  appendFileSync(newFile(s.wal, 3), entry(3));
  assert.deepEqual(poll(f).lsns, [2, 3]);
  f.stop();
});

test('a prepared file: damage is never skipped past the writer\'s position; entries written there later are read', async () => {
  const s = newStore();
  const path = join(s.wal, walFileName(1));
  writeFileSync(path, Buffer.concat([fileHeader(WAL_FILE_MAGIC), Buffer.alloc(256 * 1024)]));
  const fd = openSync(path, 'r+');
  const e1 = entry(1);
  writeSync(fd, e1, 0, e1.length, FILE_HEADER_SIZE);
  const f = new WalFollower(s.root, { from: 'start', damageWaitMs: 30 });
  assert.deepEqual(poll(f).lsns, [1]);
  // A write that failed half way (its start and end there, the middle not).
  let at = FILE_HEADER_SIZE + e1.length;
  const e2 = entry(2, 50);
  writeSync(fd, e2, 0, 40, at);
  writeSync(fd, e2, e2.length - 40, 40, at + e2.length - 40);
  assert.deepEqual(poll(f).lsns, []);
  await sleep(50);
  assert.deepEqual(poll(f).lsns, [], 'no valid entry before the zeros: it waits there');
  // The writer retries it in place, and goes on.
  const want: number[] = [];
  for (let l = 2; l <= 50; l++) {
    const e = entry(l, 20);
    writeSync(fd, e, 0, e.length, at);
    at += e.length;
    want.push(l);
  }
  assert.deepEqual(poll(f).lsns, want);
  closeSync(fd);
  f.stop();
});

test('a file deleted before the follower got to it: its entries are counted as lost, and the next file is read', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  appendFileSync(f1, entry(1));
  appendFileSync(f1, entry(2));
  const f = new WalFollower(s.root, { from: 'start' });
  assert.deepEqual(poll(f), { lsns: [1, 2], skipped: 0, lost: 0 });
  // The writer fills two more files; a commit deletes the second before the follower looks.
  const f2 = newFile(s.wal, 3);
  for (let l = 3; l <= 5; l++) appendFileSync(f2, entry(l));
  const f3 = newFile(s.wal, 6);
  appendFileSync(f3, entry(6));
  unlinkSync(f2);
  assert.deepEqual(poll(f), { lsns: [6], skipped: 0, lost: 3 });
  appendFileSync(f3, entry(7));
  assert.deepEqual(poll(f), { lsns: [7], skipped: 0, lost: 0 }, 'counted once');
  f.stop();
});

test('two or more files behind: the follower jumps to the start of the newest file, opens none of the files in between, and counts every entry it jumped over as lost', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  for (let l = 1; l <= 3; l++) appendFileSync(f1, entry(l));
  const f = new WalFollower(s.root, { from: 'end', maxBehind: 1024 * 1024 });
  appendFileSync(f1, entry(4));
  appendFileSync(f1, entry(5));
  assert.deepEqual(poll(f), { lsns: [4, 5], skipped: 0, lost: 0 });
  // Before the next poll the writer ends the open file (6, 7), fills a second (8–10)
  // and a third (11, 12), and is writing a fourth (13, 14).
  appendFileSync(f1, entry(6));
  appendFileSync(f1, entry(7));
  const f2 = newFile(s.wal, 8);
  for (let l = 8; l <= 10; l++) appendFileSync(f2, entry(l));
  const f3 = newFile(s.wal, 11);
  for (let l = 11; l <= 12; l++) appendFileSync(f3, entry(l));
  const f4 = newFile(s.wal, 13);
  for (let l = 13; l <= 14; l++) appendFileSync(f4, entry(l));
  const { result, opened } = recordingOpens(() => poll(f));
  // Read, even only to be skipped, 6–12 would show as delivered or as skipped records.
  assert.deepEqual(result, { lsns: [13, 14], skipped: 0, lost: 7 }, 'the rest of the open file (6, 7) and the files in between (8–12) are lost entries');
  assert.deepEqual(opened, [f4], 'only the newest file is opened');
  appendFileSync(f4, entry(15));
  assert.deepEqual(poll(f), { lsns: [15], skipped: 0, lost: 0 }, 'counted once');
  f.stop();

  // A follower that has read nothing yet (it started at the end of an empty file):
  // what it jumps over is counted from the open file's first LSN.
  const t = newStore();
  newFile(t.wal, 1);
  const g = new WalFollower(t.root, { from: 'end', maxBehind: 1024 * 1024 });
  assert.deepEqual(poll(g), { lsns: [], skipped: 0, lost: 0 });
  appendFileSync(join(t.wal, walFileName(1)), entry(1));
  appendFileSync(join(t.wal, walFileName(1)), entry(2));
  appendFileSync(newFile(t.wal, 3), entry(3));
  appendFileSync(newFile(t.wal, 4), entry(4));
  assert.deepEqual(poll(g), { lsns: [4], skipped: 0, lost: 3 });
  g.stop();
});

test('a jump to a newest file already more than maxBehind in: the follower starts at its first entry and skips its entries as records (counted), the files before it as lost entries', () => {
  const s = newStore();
  const f1 = newFile(s.wal, 1);
  appendFileSync(f1, entry(1));
  const f = new WalFollower(s.root, { from: 'end', maxBehind: 2000 });
  appendFileSync(f1, entry(2));
  appendFileSync(newFile(s.wal, 3), entry(3));
  const f3 = newFile(s.wal, 4);
  let bytes = 0;
  let l = 4;
  while (bytes < 5000) {
    const e = entry(l++, 5);
    appendFileSync(f3, e);
    bytes += e.length;
  }
  assert.deepEqual(poll(f), { lsns: [], skipped: 5 * (l - 4), lost: 2 });
  appendFileSync(f3, entry(l, 5));
  assert.deepEqual(poll(f), { lsns: [l], skipped: 0, lost: 0 });
  f.stop();
});

test('one file behind (the writer has just moved on to the next file): the follower does not jump and delivers every entry, across several rotations', () => {
  const s = newStore();
  let file = newFile(s.wal, 1);
  for (let l = 1; l <= 3; l++) appendFileSync(file, entry(l));
  const f = new WalFollower(s.root, { from: 'end', maxBehind: 1024 * 1024 });
  assert.deepEqual(poll(f), { lsns: [], skipped: 0, lost: 0 });
  let l = 4;
  for (let round = 0; round < 3; round++) {
    // Between two polls: the rest of the open file, then the writer rotates once.
    const want: number[] = [];
    for (let k = 0; k < 3; k++) {
      appendFileSync(file, entry(l));
      want.push(l++);
    }
    file = newFile(s.wal, l);
    for (let k = 0; k < 2; k++) {
      appendFileSync(file, entry(l));
      want.push(l++);
    }
    assert.deepEqual(poll(f), { lsns: want, skipped: 0, lost: 0 });
  }
  // The follower at the end of its file; the writer rotates once: still no jump.
  file = newFile(s.wal, l);
  appendFileSync(file, entry(l));
  assert.deepEqual(poll(f), { lsns: [l], skipped: 0, lost: 0 });
  f.stop();
});

test('from the start (maxBehind Infinity, as a reader\'s WAL cache): never jumps, however many files there are', () => {
  const s = newStore();
  const files: string[] = [];
  for (let first = 1; first <= 7; first += 2) {
    const p = newFile(s.wal, first);
    appendFileSync(p, entry(first));
    appendFileSync(p, entry(first + 1));
    files.push(p);
  }
  const f = new WalFollower(s.root, { from: 'start' });
  const first = recordingOpens(() => poll(f));
  assert.deepEqual(first.result, { lsns: [1, 2, 3, 4, 5, 6, 7, 8], skipped: 0, lost: 0 });
  assert.deepEqual(first.opened, files, 'every file read, oldest first');
  // The writer goes on through three more files before the next poll.
  const want: number[] = [];
  for (let l = 9; l <= 11; l++) {
    appendFileSync(newFile(s.wal, l), entry(l));
    want.push(l);
  }
  assert.deepEqual(poll(f), { lsns: want, skipped: 0, lost: 0 });
  f.stop();
});
