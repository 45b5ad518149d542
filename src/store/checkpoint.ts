/**
 * The checkpoint: "every block of epoch ≤ E is committed, and those blocks hold every
 * record of WAL entries ≤ L" (docs/storage.md, "Commit and recovery"). Two fixed slots
 * of CHECKPOINT_SLOT bytes, written alternately: a write torn by a crash damages only
 * the slot being written, and the other still holds the previous checkpoint.
 *
 *   slot := magic u32 'RLCP' · version u32 · seq f64 · epoch f64 · lsn f64 · crc32c u32 (of bytes 0–31) · zeros
 *
 * The valid slot with the higher seq wins.
 */
import { closeSync, fdatasyncSync, openSync, readSync, writeSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { syncDir } from './fs-util.js';
import { CHECKPOINT_MAGIC, CHECKPOINT_SLOT, FORMAT_VERSION } from './consts.js';

export interface Checkpoint {
  seq: number;
  epoch: number;
  lsn: number;
}

export const EMPTY_CHECKPOINT: Checkpoint = { seq: 0, epoch: 0, lsn: 0 };

function encodeSlot(c: Checkpoint): Buffer {
  const b = Buffer.alloc(CHECKPOINT_SLOT);
  b.writeUInt32LE(CHECKPOINT_MAGIC, 0);
  b.writeUInt32LE(FORMAT_VERSION, 4);
  b.writeDoubleLE(c.seq, 8);
  b.writeDoubleLE(c.epoch, 16);
  b.writeDoubleLE(c.lsn, 24);
  b.writeUInt32LE(crc32c(b.subarray(0, 32)), 32);
  return b;
}

/** A slot's checkpoint, or null when the slot is empty or damaged. */
function decodeSlot(b: Buffer): Checkpoint | null {
  if (b.length < CHECKPOINT_SLOT || b.readUInt32LE(0) !== CHECKPOINT_MAGIC) return null;
  if (crc32c(b.subarray(0, 32)) !== b.readUInt32LE(32)) return null;
  // Another version inside a store whose FORMAT file names this one is damage (the slot is not used).
  if (b.readUInt32LE(4) !== FORMAT_VERSION) return null;
  const c = { seq: b.readDoubleLE(8), epoch: b.readDoubleLE(16), lsn: b.readDoubleLE(24) };
  if (![c.seq, c.epoch, c.lsn].every((x) => Number.isSafeInteger(x) && x >= 0)) return null;
  return c;
}

export interface CheckpointRead {
  checkpoint: Checkpoint;
  /** The file exists but neither slot is valid (both damaged): recovery must not trust the epochs. */
  lost: boolean;
  /** Slots that were present but damaged (0, 1 or 2). */
  damagedSlots: number;
}

/**
 * Reads the checkpoint file. A missing file is a new store (EMPTY_CHECKPOINT); a file
 * without a valid slot — empty, cut short, both slots damaged — is `lost` (the writer
 * puts a first slot in as soon as it creates the file, so that is never a new store).
 */
export function readCheckpoint(path: string): CheckpointRead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoint: EMPTY_CHECKPOINT, lost: false, damagedSlots: 0 };
    throw err;
  }
  try {
    const b = Buffer.alloc(2 * CHECKPOINT_SLOT);
    const n = readSync(fd, b, 0, b.length, 0);
    const slots = [decodeSlot(b.subarray(0, Math.min(n, CHECKPOINT_SLOT))), n > CHECKPOINT_SLOT ? decodeSlot(b.subarray(CHECKPOINT_SLOT, n)) : null];
    const present = [n > 0 && !b.subarray(0, Math.min(n, CHECKPOINT_SLOT)).every((x) => x === 0), n > CHECKPOINT_SLOT && !b.subarray(CHECKPOINT_SLOT, n).every((x) => x === 0)];
    const damagedSlots = slots.filter((s, i) => s === null && present[i]).length;
    const valid = slots.filter((s): s is Checkpoint => s !== null);
    if (valid.length === 0) return { checkpoint: EMPTY_CHECKPOINT, lost: true, damagedSlots };
    valid.sort((a, b2) => b2.seq - a.seq);
    return { checkpoint: valid[0]!, lost: false, damagedSlots };
  } finally {
    closeSync(fd);
  }
}

/** Writes checkpoints; keeps the file open. */
export class CheckpointWriter {
  private fd!: number;
  private last: Checkpoint;

  constructor(path: string, current: Checkpoint) {
    let created = false;
    try {
      this.fd = openSync(path, constants.O_RDWR);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
      created = true;
    }
    this.last = current;
    if (created) {
      // A new file gets its first slot at once: from then on a file without a valid slot is damage, never "new".
      this.writeSlot(current);
      syncDir(dirname(path));
    }
  }

  get current(): Checkpoint {
    return this.last;
  }

  /** Writes and syncs the next checkpoint into the slot the current one is not in. Throws on I/O errors. */
  write(epoch: number, lsn: number): Checkpoint {
    const next: Checkpoint = { seq: this.last.seq + 1, epoch, lsn };
    this.writeSlot(next);
    this.last = next;
    return next;
  }

  private writeSlot(c: Checkpoint): void {
    const b = encodeSlot(c);
    const at = (c.seq % 2) * CHECKPOINT_SLOT;
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off, at + off);
    fdatasyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
