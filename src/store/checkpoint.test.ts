/**
 * The checkpoint's two slots: written alternately, read back as the newest valid one;
 * a torn newer slot falls back to the older one; both damaged is `lost`; a slot of a
 * newer format version is refused by name.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readFileSync, writeFileSync, writeSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { CHECKPOINT_MAGIC, CHECKPOINT_SLOT, FORMAT_VERSION } from './consts.js';
import { CheckpointWriter, EMPTY_CHECKPOINT, readCheckpoint } from './checkpoint.js';
import { rmDir, tempDir } from './test-helpers.js';

const dir = tempDir('ringlog-checkpoint-');
after(() => rmDir(dir));
let n = 0;
const fresh = () => join(dir, `cp${n++}`);

function overwrite(path: string, at: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

/** A well-formed slot (valid CRC) with any version and values. */
function slot(version: number, seq: number, epoch: number, lsn: number): Buffer {
  const b = Buffer.alloc(CHECKPOINT_SLOT);
  b.writeUInt32LE(CHECKPOINT_MAGIC, 0);
  b.writeUInt32LE(version, 4);
  b.writeDoubleLE(seq, 8);
  b.writeDoubleLE(epoch, 16);
  b.writeDoubleLE(lsn, 24);
  b.writeUInt32LE(crc32c(b.subarray(0, 32)), 32);
  return b;
}

test('a missing file is a new store; an empty or cut one is lost (the writer puts a slot in as it creates the file)', () => {
  assert.deepEqual(readCheckpoint(join(dir, 'none')), { checkpoint: EMPTY_CHECKPOINT, lost: false, damagedSlots: 0 });
  const p = fresh();
  writeFileSync(p, '');
  assert.deepEqual(readCheckpoint(p), { checkpoint: EMPTY_CHECKPOINT, lost: true, damagedSlots: 0 });
  const created = join(dir, 'created');
  new CheckpointWriter(created, EMPTY_CHECKPOINT).close();
  assert.deepEqual(readCheckpoint(created), { checkpoint: EMPTY_CHECKPOINT, lost: false, damagedSlots: 0 }, 'a file the writer created holds a valid first slot');
});

test('write / read round trip: each write is read back, alternating slots, up to safe-integer values', () => {
  const p = fresh();
  const w = new CheckpointWriter(p, EMPTY_CHECKPOINT);
  fc.assert(
    fc.property(fc.nat({ max: 2 ** 32 }), fc.maxSafeNat(), (epoch, lsn) => {
      const c = w.write(epoch, lsn);
      assert.equal(c.seq, w.current.seq);
      assert.deepEqual(readCheckpoint(p), { checkpoint: c, lost: false, damagedSlots: 0 });
      // The slot written is seq % 2; the other holds the previous checkpoint.
      const file = readFileSync(p);
      assert.equal(file.length, 2 * CHECKPOINT_SLOT);
      assert.equal(file.readDoubleLE((c.seq % 2) * CHECKPOINT_SLOT + 8), c.seq);
      if (c.seq > 1) assert.equal(file.readDoubleLE(((c.seq + 1) % 2) * CHECKPOINT_SLOT + 8), c.seq - 1);
    }),
    { numRuns: 100 },
  );
  w.close();
  // A writer reopened on the file continues from what it reads.
  const r = readCheckpoint(p).checkpoint;
  const w2 = new CheckpointWriter(p, r);
  const c = w2.write(r.epoch + 1, r.lsn);
  w2.close();
  assert.equal(c.seq, r.seq + 1);
  assert.deepEqual(readCheckpoint(p).checkpoint, c);
});

test('a torn (garbage) newer slot falls back to the older valid one, and the next write replaces the torn slot', () => {
  for (const damage of ['garbage', 'zeroes-crc', 'one-bit', 'cut'] as const) {
    const p = fresh();
    const w = new CheckpointWriter(p, EMPTY_CHECKPOINT);
    const older = w.write(3, 100); // seq 1, slot 1
    const newer = w.write(4, 200); // seq 2, slot 0
    w.close();
    assert.deepEqual(readCheckpoint(p).checkpoint, newer);
    if (damage === 'garbage') overwrite(p, 0, Buffer.from('this is not a checkpoint slot at all, just text...............'));
    if (damage === 'zeroes-crc') overwrite(p, 32, Buffer.alloc(4));
    if (damage === 'one-bit') {
      const b = readFileSync(p);
      overwrite(p, 17, Buffer.from([b[17]! ^ 0x04]));
    }
    if (damage === 'cut') {
      // The newer slot is slot 0 here; tear slot 1 (the older) instead by cutting the file: the newer one stays.
      truncateSync(p, CHECKPOINT_SLOT + 20);
      const r = readCheckpoint(p);
      assert.deepEqual(r.checkpoint, newer, damage);
      assert.equal(r.damagedSlots, 1);
      continue;
    }
    const r = readCheckpoint(p);
    assert.deepEqual(r.checkpoint, older, damage);
    assert.equal(r.lost, false);
    assert.equal(r.damagedSlots, 1, damage);
    // Recovery goes on from the older checkpoint: its next write goes to the damaged slot, not over the good one.
    const w2 = new CheckpointWriter(p, r.checkpoint);
    const next = w2.write(4, 150);
    w2.close();
    assert.equal(next.seq, older.seq + 1);
    assert.deepEqual(readCheckpoint(p), { checkpoint: next, lost: false, damagedSlots: 0 });
  }
});

test('both slots garbage: lost, and nothing from them is used', () => {
  const p = fresh();
  const w = new CheckpointWriter(p, EMPTY_CHECKPOINT);
  w.write(1, 1);
  w.write(2, 2);
  w.close();
  overwrite(p, 3, Buffer.from([0xff]));
  overwrite(p, CHECKPOINT_SLOT + 40 - 8, Buffer.from([0x13, 0x37]));
  assert.deepEqual(readCheckpoint(p), { checkpoint: EMPTY_CHECKPOINT, lost: true, damagedSlots: 2 });
  const q = fresh();
  writeFileSync(q, Buffer.alloc(2 * CHECKPOINT_SLOT, 0xab));
  assert.deepEqual(readCheckpoint(q), { checkpoint: EMPTY_CHECKPOINT, lost: true, damagedSlots: 2 });
  // A slot with a valid CRC but an impossible value (negative, fractional) is damaged too.
  const v = fresh();
  writeFileSync(v, Buffer.concat([slot(FORMAT_VERSION, 1, -1, 5), slot(FORMAT_VERSION, 2, 1, 0.5)]));
  assert.deepEqual(readCheckpoint(v), { checkpoint: EMPTY_CHECKPOINT, lost: true, damagedSlots: 2 });
});

test('a slot naming another format version is a damaged slot (the FORMAT file is what gates versions): the other one is used', () => {
  const p = fresh();
  writeFileSync(p, Buffer.concat([slot(FORMAT_VERSION + 1, 5, 5, 5), slot(FORMAT_VERSION, 4, 4, 4)]));
  assert.deepEqual(readCheckpoint(p), { checkpoint: { seq: 4, epoch: 4, lsn: 4 }, lost: false, damagedSlots: 1 });
  const q = fresh();
  writeFileSync(q, Buffer.concat([slot(FORMAT_VERSION + 1, 4, 4, 4), slot(FORMAT_VERSION + 1, 3, 3, 3)]));
  assert.deepEqual(readCheckpoint(q), { checkpoint: EMPTY_CHECKPOINT, lost: true, damagedSlots: 2 });
  // The version is only believed when the slot checks out: a damaged slot that reads as version 2 is just damage.
  const r = fresh();
  const torn = slot(FORMAT_VERSION + 1, 5, 5, 5);
  torn[33]! ^= 1;
  writeFileSync(r, Buffer.concat([torn, slot(FORMAT_VERSION, 4, 4, 4)]));
  assert.deepEqual(readCheckpoint(r).checkpoint, { seq: 4, epoch: 4, lsn: 4 });
});
