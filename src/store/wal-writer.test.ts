/**
 * WalWriter on real files: entries come back durable, in order, once each, for every
 * fsync mode; group commit (many appends, few fdatasyncs); rotation at fileTarget and
 * deleteUpTo(); failed writes (a real full tmpfs when it can be mounted, and an
 * injected fdatasync error) are retried so that every entry is in the log exactly once.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { FILE_HEADER_SIZE, WAL_END_MARK, WAL_KEYED_VERSION } from './consts.js';
import { newWalKey } from './wal-key.js';
import { encodeEntry } from './wal-entry.js';
import { listWalFiles, scanWalFile, walFileName } from './wal-reader.js';
import { WalWriter, type FsyncMode, type WalEntryRef, type WalWriterOptions } from './wal-writer.js';
import { fileOpenElsewhere } from '../native/file-open.js';
import { parse, rmDir, tempDir } from './test-helpers.js';

const root = tempDir('ringlog-wal-writer-');
after(() => rmDir(root));
let dirs = 0;
function newDir(): string {
  const d = join(root, `w${dirs++}`);
  mkdirSync(d);
  return d;
}

/** Whether this machine can tell that a file is open elsewhere (native/file_open.cc), without which nothing is recycled. */
function leasesHere(): boolean {
  const probe = join(root, 'lease-probe');
  writeFileSync(probe, 'x');
  return fileOpenElsewhere(probe) === false;
}

function entry(lsn: number, pad = 40): WalEntryRef {
  const b = parse('raw', [`entry ${lsn} ${'p'.repeat(pad)}`, `second frame of ${lsn}`]);
  return { lsn, entry: Buffer.from(encodeEntry([b], lsn).entry) };
}

interface Harness {
  w: WalWriter;
  durable: number[];
  events: string[];
  errors: NodeJS.ErrnoException[];
  syncs: number;
  recovered: number;
  /** Resolves once every LSN up to `lsn` is durable. */
  until(lsn: number): Promise<void>;
}

function harness(dir: string, o: Partial<WalWriterOptions> & { fsync: FsyncMode }, existing = listWalFiles(dir)): Harness {
  const waiters: { lsn: number; resolve: () => void }[] = [];
  const h: Harness = {
    w: null as unknown as WalWriter,
    durable: [],
    events: [],
    errors: [],
    syncs: 0,
    recovered: 0,
    until(lsn) {
      if (h.durable.length > 0 && h.durable[h.durable.length - 1]! >= lsn) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ lsn, resolve }));
    },
  };
  h.w = new WalWriter(dir, existing, {
    fsyncIntervalMs: 20,
    fileTarget: 64 * 1024 * 1024,
    onDurable: (es) => {
      h.events.push(`durable ${es.length}`);
      for (const e of es) h.durable.push(e.lsn);
      const last = h.durable[h.durable.length - 1]!;
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.lsn <= last) waiters.splice(i, 1)[0]!.resolve();
    },
    onError: (err) => {
      h.events.push(`error ${err.code}`);
      h.errors.push(err);
    },
    onRecovered: () => {
      h.events.push('recovered');
      h.recovered++;
    },
    onSync: () => {
      h.events.push('sync');
      h.syncs++;
    },
    ...o,
  });
  return h;
}

/** Every entry in the WAL files of dir, in file order, with the damage found. */
function onDisk(dir: string): { lsns: number[]; files: { firstLsn: number; lsns: number[] }[]; damage: number } {
  const files: { firstLsn: number; lsns: number[] }[] = [];
  let damage = 0;
  for (const f of listWalFiles(dir)) {
    const lsns: number[] = [];
    const r = scanWalFile(f.path, 0, (e) => lsns.push(e.lsn));
    damage += r.damagedBytes + r.tornTail + r.badEntries;
    // After the last entry: the end mark the writer puts after every write; no torn tail.
    const bytes = readFileSync(f.path);
    assert.ok(r.validEnd + WAL_END_MARK <= bytes.length && bytes.readUInt32LE(r.validEnd) === 0, `${f.path}: an end mark after the last entry`);
    assert.equal(r.tornTail, 0);
    files.push({ firstLsn: f.firstLsn, lsns });
  }
  return { lsns: files.flatMap((f) => f.lsns), files, damage };
}

/** Waits until `path` exists (at most 5 s: the assertions after it say what is missing). */
async function untilExists(path: string): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

for (const fsync of ['always', 'interval', 'never'] as const) {
  test(`fsync ${fsync}: every entry durable once, in LSN order, and on disk`, async () => {
    const dir = newDir();
    const h = harness(dir, { fsync });
    await h.w.start(1);
    let lsn = 1;
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 1 + (round % 4); k++) h.w.append(entry(lsn++));
      await tick();
    }
    await h.until(lsn - 1);
    assert.deepEqual(h.durable, range(1, lsn - 1));
    assert.equal(h.w.pendingBytes, 0);
    if (fsync === 'never') assert.equal(h.syncs, 0, 'no fdatasync at all');
    else {
      assert.ok(h.syncs >= 1);
      assert.equal(h.events[0], 'sync', 'nothing is durable before its fdatasync');
    }
    // More after a pause: interval mode syncs on its timer, with nothing else happening.
    h.w.append(entry(lsn++));
    await h.until(lsn - 1);
    await h.w.close();
    assert.deepEqual(h.durable, range(1, lsn - 1));
    const disk = onDisk(dir);
    assert.deepEqual(disk.lsns, range(1, lsn - 1));
    assert.equal(disk.damage, 0);
    assert.throws(() => h.w.append(entry(lsn)), /closed/);
  });
}

test('interval mode: close() syncs what is written without waiting for the interval', async () => {
  const dir = newDir();
  const h = harness(dir, { fsync: 'interval', fsyncIntervalMs: 60_000 });
  await h.w.start(1);
  for (let i = 1; i <= 5; i++) h.w.append(entry(i));
  await tick();
  const t0 = performance.now();
  await h.w.close();
  assert.ok(performance.now() - t0 < 5_000);
  assert.deepEqual(h.durable, range(1, 5));
  assert.deepEqual(onDisk(dir).lsns, range(1, 5));
});

test('group commit: entries appended while a write or sync is in flight share one fdatasync', async () => {
  const dir = newDir();
  const h = harness(dir, { fsync: 'always' });
  await h.w.start(1);
  const n = 600;
  let lsn = 1;
  while (lsn <= n) {
    for (let k = 0; k < 10 && lsn <= n; k++) h.w.append(entry(lsn++));
    await tick();
  }
  // And 2000 at once: more buffers than one writev takes (IOV_MAX 1024).
  for (let k = 0; k < 2000; k++) h.w.append(entry(lsn++, 5));
  await h.until(lsn - 1);
  await h.w.close();
  assert.deepEqual(h.durable, range(1, lsn - 1));
  assert.ok(h.syncs < (lsn - 1) / 4, `${h.syncs} fdatasyncs for ${lsn - 1} entries`);
  assert.deepEqual(onDisk(dir).lsns, range(1, lsn - 1));
});

test('a writer with the store\'s WAL key: keyed headers and checksums, read back with the key and not without it, across rotations', async () => {
  const dir = newDir();
  const key = newWalKey(1);
  const h = harness(dir, { fsync: 'always', fileTarget: 2_000, walKey: key });
  await h.w.start(1);
  for (let lsn = 1; lsn <= 20; lsn++) {
    h.w.append(entry(lsn, 200));
    if (lsn % 4 === 0) await h.until(lsn);
  }
  await h.until(20);
  await h.w.close();
  const files = listWalFiles(dir);
  assert.ok(files.length >= 3, `${files.length} files`);
  const withKey: number[] = [];
  for (const f of files) {
    assert.equal(readFileSync(f.path).readUInt32LE(4), WAL_KEYED_VERSION, 'keyed header');
    const r = scanWalFile(f.path, 0, (e) => withKey.push(e.lsn), key);
    assert.equal(r.damagedBytes + r.tornTail + r.badEntries, 0);
    const without: number[] = [];
    scanWalFile(f.path, 0, (e) => without.push(e.lsn));
    assert.deepEqual(without, [], 'no entry checks out without the key');
    const other: number[] = [];
    scanWalFile(f.path, 0, (e) => other.push(e.lsn), newWalKey(1));
    assert.deepEqual(other, [], 'nor with another key');
  }
  assert.deepEqual(withKey, range(1, 20));
});

test('rotation at fileTarget: new files named by their first LSN; deleteUpTo() deletes only files wholly ≤ lsn, never the open one', async () => {
  const dir = newDir();
  const h = harness(dir, { fsync: 'always', fileTarget: 2_000 });
  await h.w.start(1);
  let lsn = 1;
  for (; lsn <= 40; lsn++) {
    h.w.append(entry(lsn, 200));
    if (lsn % 3 === 0) await h.until(lsn);
  }
  await h.until(40);
  const disk = onDisk(dir);
  assert.deepEqual(disk.lsns, range(1, 40));
  assert.ok(disk.files.length >= 4, `${disk.files.length} files`);
  for (const f of disk.files) {
    assert.equal(f.lsns[0], f.firstLsn, 'a file is named by its first entry');
    assert.deepEqual(f.lsns, range(f.firstLsn, f.firstLsn + f.lsns.length - 1));
  }
  for (const f of disk.files.slice(0, -1)) {
    const size = statSync(join(dir, walFileName(f.firstLsn))).size;
    assert.ok(size >= 2_000 && size < 2_000 + 3 * 300, `closed file of ${size} bytes`);
  }
  assert.deepEqual(h.w.files.map((f) => f.firstLsn), disk.files.map((f) => f.firstLsn));
  // Files prepared ahead (zero-filled) were used when ready; when a file filled before
  // the next was ready (as here, a file in a few writes), a new one grew instead.
  assert.ok(h.w.opened.prepared >= 1, JSON.stringify(h.w.opened));
  assert.equal(h.w.opened.prepared + h.w.opened.grown, disk.files.length);

  // Delete up to an LSN inside the third file: the first two go, the third stays (it holds entries > lsn).
  const third = disk.files[2]!;
  const cut = third.firstLsn + 1;
  assert.equal(await h.w.deleteUpTo(cut), 2);
  assert.deepEqual(listWalFiles(dir).map((f) => f.firstLsn), disk.files.slice(2).map((f) => f.firstLsn));
  assert.ok(onDisk(dir).lsns.includes(cut + 1));
  // Up to the last entry of the third file exactly: it goes too.
  assert.equal(await h.w.deleteUpTo(disk.files[3]!.firstLsn - 1), 1);
  // Everything: only the open file stays, whatever the LSN.
  await h.w.deleteUpTo(Number.MAX_SAFE_INTEGER);
  const left = listWalFiles(dir);
  assert.equal(left.length, 1);
  assert.equal(left[0]!.firstLsn, disk.files[disk.files.length - 1]!.firstLsn);
  assert.equal(await h.w.deleteUpTo(Number.MAX_SAFE_INTEGER), 0);
  // Writing goes on into the open file and new ones.
  for (; lsn <= 60; lsn++) h.w.append(entry(lsn, 200));
  await h.until(60);
  await h.w.close();
  const after = onDisk(dir);
  assert.deepEqual(after.lsns, range(left[0]!.firstLsn, 60));
  assert.equal(after.damage, 0);
});

test('recycling: a committed WAL file becomes the next file, cut to fileTarget but not zeroed, and none of its old entries is read back', async () => {
  const dir = newDir();
  // Whether a reader has the file open is the next test's concern: here, none has.
  const h = harness(dir, { fsync: 'always', fileTarget: 4_000, openElsewhere: () => false });
  await h.w.start(1);
  const untilFile = (name: string) => untilExists(join(dir, name));
  // The first file: 700-byte entries until it passes fileTarget (it ends past 4,000 bytes),
  // the second made fresh meanwhile (once the first is a quarter full) and opened prepared.
  let lsn = 1;
  for (; h.w.files.length < 2; lsn++) {
    h.w.append(entry(lsn, 600));
    await h.until(lsn);
    if (lsn === 2) await untilFile('next.walprep');
  }
  assert.deepEqual(h.w.opened, { prepared: 1, grown: 1, recycled: 0 });
  const first = h.w.files[0]!;
  const second = h.w.files[1]!;
  const firstSize = statSync(first.path).size;
  const firstBytes = readFileSync(first.path);
  assert.ok(firstSize > 4_000, `first file of ${firstSize} bytes`);
  assert.ok(!existsSync(join(dir, 'next.walprep')) && !existsSync(join(dir, 'next.walprep.tmp')), 'nothing prepared yet (the second file is under a quarter full)');
  // Its entries committed: it is recycled, not deleted.
  assert.equal(await h.w.deleteUpTo(second.firstLsn - 1), 1);
  await untilFile('next.walprep');
  assert.ok(!existsSync(first.path));
  const ready = readFileSync(join(dir, 'next.walprep'));
  assert.equal(ready.length, 4_000, 'cut to fileTarget');
  assert.ok(ready.equals(firstBytes.subarray(0, 4_000)), 'not zeroed: the old entries are still there');
  // Writing on: the second file fills and the recycled one is opened next.
  const upTo = lsn + 12;
  for (; lsn <= upTo; lsn++) {
    h.w.append(entry(lsn, 600));
    await h.until(lsn);
  }
  assert.equal(h.w.opened.recycled, 1, JSON.stringify(h.w.opened));
  await h.w.close();
  const disk = onDisk(dir);
  assert.deepEqual(disk.lsns, range(second.firstLsn, upTo));
  assert.equal(disk.damage, 0);
});

test('recycling: a file committed while a next file is ready is recycled as a second one (next.walspare), which the rotation after that one takes', async () => {
  const dir = newDir();
  const h = harness(dir, { fsync: 'always', fileTarget: 4_000, openElsewhere: () => false });
  await h.w.start(1);
  const untilFile = (name: string) => untilExists(join(dir, name));
  let lsn = 1;
  const write = async () => {
    h.w.append(entry(lsn, 600));
    await h.until(lsn++);
  };
  // Two files; the second prepared fresh, and a fresh third one ready (no commit came
  // before the second was a quarter full).
  while (h.w.files.length < 2) {
    await write();
    if (existsSync(join(dir, 'next.walprep.tmp'))) await untilFile('next.walprep');
  }
  await write();
  await untilFile('next.walprep');
  assert.deepEqual(h.w.opened, { prepared: 1, grown: 1, recycled: 0 });
  // The first file is committed: recycled as the spare, not deleted, though the third is ready.
  const first = h.w.files[0]!;
  const firstBytes = readFileSync(first.path);
  assert.equal(await h.w.deleteUpTo(h.w.files[1]!.firstLsn - 1), 1);
  assert.ok(!existsSync(first.path));
  await untilFile('next.walspare');
  assert.ok(readFileSync(join(dir, 'next.walspare')).equals(firstBytes.subarray(0, 4_000)), 'the first file, cut to fileTarget, not rewritten');
  // The next rotation takes the fresh one, the one after it the spare; no fresh file is made meanwhile.
  while (h.w.opened.prepared < 2) await write();
  assert.ok(existsSync(join(dir, 'next.walspare')) && !existsSync(join(dir, 'next.walprep')) && !existsSync(join(dir, 'next.walprep.tmp')));
  while (h.w.opened.prepared < 3) await write();
  assert.deepEqual(h.w.opened, { prepared: 3, grown: 1, recycled: 1 });
  await h.w.close();
  const disk = onDisk(dir);
  assert.deepEqual(disk.lsns, range(h.w.files[0]!.firstLsn, lsn - 1));
  assert.equal(disk.damage, 0);
});

test('recycling: a committed WAL file that a reader has open is deleted instead (the reader reads it to its end), and one whose readers are gone is recycled', { skip: !leasesHere() && 'no native addon, not Linux, or no leases on this file system: nothing is recycled there' }, async () => {
  const dir = newDir();
  const h = harness(dir, { fsync: 'always', fileTarget: 4_000 });
  await h.w.start(1);
  const untilFile = (name: string) => untilExists(join(dir, name));
  // Until no place holds a file on its way (.tmp): a recycled file is ready by then.
  const untilRecycledReady = async () => {
    for (let i = 0; i < 500 && readdirSync(dir).some((n) => n.endsWith('.tmp')); i++) await new Promise((r) => setTimeout(r, 10));
  };
  let lsn = 1;
  const fillOne = async () => {
    const files = h.w.files.length;
    for (; h.w.files.length === files; lsn++) {
      h.w.append(entry(lsn, 600));
      await h.until(lsn);
      if (existsSync(join(dir, 'next.walprep.tmp'))) await untilFile('next.walprep');
    }
  };
  await fillOne();
  const first = h.w.files[0]!;
  const bytes = readFileSync(first.path);
  const reader = openSync(first.path, 'r');
  const inode = fstatSync(reader).ino;
  try {
    assert.equal(await h.w.deleteUpTo(h.w.files[1]!.firstLsn - 1), 1);
    assert.ok(!existsSync(first.path));
    // (A fresh next file may be on its way meanwhile: the first file is under no name.)
    assert.ok(readdirSync(dir).every((n) => statSync(join(dir, n), { throwIfNoEntry: false })?.ino !== inode), 'not recycled while open');
    const again = Buffer.alloc(bytes.length);
    assert.equal(readSync(reader, again, 0, again.length, 0), bytes.length);
    assert.ok(again.equals(bytes), 'the reader still reads the deleted file as it was');
  } finally {
    closeSync(reader);
  }
  // The next committed file, with no reader: recycled (into whichever place is free; the
  // rotation after the one that takes a fresh file ready first takes it).
  await fillOne();
  assert.equal(await h.w.deleteUpTo(h.w.files[h.w.files.length - 1]!.firstLsn - 1), 1);
  for (let k = 0; k < 4 && h.w.opened.recycled === 0; k++) {
    await untilRecycledReady();
    await fillOne();
  }
  assert.equal(h.w.opened.recycled, 1, JSON.stringify(h.w.opened));
  await h.w.close();
  assert.equal(onDisk(dir).damage, 0);
});

test('a restart that reuses the name of an existing (empty) WAL file: deleteUpTo() never deletes the open file', async () => {
  // Regression: a server started and stopped without records leaves 0000000000000001.wal
  // (header only); the next start finds it, scans nothing, and opens the same name for
  // LSN 1. The writer listed the file twice (found + opened), so the first deleteUpTo()
  // after a commit unlinked the open file: every later entry was written to a deleted file.
  const dir = newDir();
  const first = harness(dir, { fsync: 'always' });
  await first.w.start(1);
  await first.w.close();
  assert.deepEqual(listWalFiles(dir).map((f) => f.firstLsn), [1]);
  const h = harness(dir, { fsync: 'always' });
  await h.w.start(1);
  for (let i = 1; i <= 5; i++) h.w.append(entry(i));
  await h.until(5);
  await h.w.deleteUpTo(3);
  assert.ok(existsSync(join(dir, walFileName(1))), 'the open WAL file is still there');
  for (let i = 6; i <= 8; i++) h.w.append(entry(i));
  await h.until(8);
  await h.w.close();
  assert.deepEqual(onDisk(dir).lsns, range(1, 8));
  assert.equal(h.w.files.length, 1);
});

test('an injected fdatasync failure (fsync interval; "always" writes with O_DSYNC and has no separate sync): the entries since the last good sync are written again in place, once each', async () => {
  const dir = newDir();
  // The FileHandle class, from any handle: fail its datasync on demand.
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  unlinkSync(join(dir, 'probe'));
  const real = proto.datasync;
  let failures = 0;
  proto.datasync = function (this: unknown) {
    if (failures > 0) {
      failures--;
      return Promise.reject(Object.assign(new Error('injected EIO'), { code: 'EIO' }));
    }
    return real.call(this);
  };
  try {
    const h = harness(dir, { fsync: 'interval', fsyncIntervalMs: 1 });
    await h.w.start(1);
    for (let i = 1; i <= 10; i++) h.w.append(entry(i));
    await h.until(10);
    failures = 2;
    for (let i = 11; i <= 30; i++) {
      h.w.append(entry(i));
      if (i % 5 === 0) await tick();
    }
    await h.until(30);
    await h.w.close();
    assert.equal(h.errors.length, 2);
    assert.equal(h.errors[0]!.code, 'EIO');
    assert.equal(h.recovered, 1);
    assert.deepEqual(h.durable, range(1, 30), 'durable once each, in order');
    const disk = onDisk(dir);
    assert.deepEqual(disk.lsns, range(1, 30), 'on disk once each');
    assert.equal(disk.damage, 0);
  } finally {
    proto.datasync = real;
  }
});

/** Mounts a 1 MiB tmpfs at dir; false when this process may not mount. */
function mountTmpfs(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

test('a real full filesystem (tmpfs): writes fail with ENOSPC, are retried, and once space returns every entry is on disk exactly once', async (t) => {
  const dir = newDir();
  if (!mountTmpfs(dir)) {
    t.skip('cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): the ENOSPC path is covered by the injected-failure test only');
    return;
  }
  try {
    const h = harness(dir, { fsync: 'always' });
    await h.w.start(1);
    for (let i = 1; i <= 3; i++) h.w.append(entry(i));
    await h.until(3);
    // Fill the filesystem.
    const filler = join(dir, 'filler');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024, 0x66);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    try {
      for (;;) writeSync(fd, chunk, 0, 512);
    } catch {
      /* full to the last block */
    }
    closeSync(fd);
    // Entries that do not fit: some bytes may land in the file's last page, the rest fails.
    let lsn = 4;
    for (; lsn <= 60; lsn++) h.w.append(entry(lsn, 300));
    while (h.errors.length < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(h.errors[0]!.code, 'ENOSPC');
    assert.ok(h.durable.length < 60, 'nothing past the full disk is acknowledged');
    // More entries while failing join the queue.
    for (; lsn <= 80; lsn++) h.w.append(entry(lsn, 300));
    // Space returns.
    unlinkSync(filler);
    await h.until(80);
    await h.w.close();
    assert.ok(h.recovered >= 1);
    assert.deepEqual(h.durable, range(1, 80), 'durable once each, in order');
    const disk = onDisk(dir);
    assert.deepEqual(disk.lsns, range(1, 80), 'on disk once each');
    assert.equal(disk.damage, 0);
    assert.ok(readdirSync(dir).every((n) => n.endsWith('.wal')));
    assert.ok(statSync(join(dir, walFileName(1))).size > FILE_HEADER_SIZE);
  } finally {
    execFileSync('umount', [dir]);
    rmdirSync(dir);
  }
});

test('prepared files: those left ready by the last run (next.walprep, next.walspare) are used, half-made ones removed; prepare: false makes none', async () => {
  const dir = newDir();
  writeFileSync(join(dir, 'next.walprep.tmp'), Buffer.alloc(100, 7));
  writeFileSync(join(dir, 'next.walprep'), Buffer.alloc(4_000));
  writeFileSync(join(dir, 'next.walspare.tmp'), Buffer.alloc(100, 7));
  writeFileSync(join(dir, 'next.walspare'), Buffer.alloc(4_000));
  const h = harness(dir, { fsync: 'always', fileTarget: 4_000 });
  await h.w.start(1);
  assert.ok(!existsSync(join(dir, 'next.walprep.tmp')) && !existsSync(join(dir, 'next.walspare.tmp')));
  assert.ok(!existsSync(join(dir, 'next.walprep')), 'renamed into place');
  assert.deepEqual(h.w.opened, { prepared: 1, grown: 0, recycled: 0 });
  for (let lsn = 1; lsn <= 5; lsn++) h.w.append(entry(lsn, 100));
  await h.until(5);
  // Written over the zeros: the file did not grow.
  assert.equal(statSync(join(dir, walFileName(1))).size, 4_000);
  // The spare is the next file.
  let lsn = 6;
  for (; h.w.files.length < 2; lsn++) {
    h.w.append(entry(lsn, 100));
    await h.until(lsn);
  }
  assert.ok(!existsSync(join(dir, 'next.walspare')), 'renamed into place');
  assert.deepEqual(h.w.opened, { prepared: 2, grown: 0, recycled: 0 });
  await h.w.close();
  assert.deepEqual(onDisk(dir).lsns, range(1, lsn - 1));
  assert.equal(onDisk(dir).damage, 0);

  const off = newDir();
  const g = harness(off, { fsync: 'always', fileTarget: 1_000, prepare: false });
  await g.w.start(1);
  for (let lsn = 1; lsn <= 30; lsn++) {
    g.w.append(entry(lsn, 100));
    if (lsn % 5 === 0) await g.until(lsn);
  }
  await g.w.close();
  assert.equal(g.w.opened.prepared, 0);
  assert.ok(g.w.opened.grown >= 3);
  assert.deepEqual(readdirSync(off).filter((n) => n.startsWith('next.')), []);
  assert.deepEqual(onDisk(off).lsns, range(1, 30));
});
