/**
 * The store's WAL key (docs/storage.md, "Write-ahead log"): 16 random bytes kept in the
 * store's FORMAT file, with which the checksums of WAL entries are keyed.
 *
 * Why: frames are copied into WAL entries byte for byte, so a sender can put a
 * well-formed entry, checksum and all, inside a message. Where a reader has to search
 * bytes it cannot tell apart (a resync past damage or a torn write), such an entry
 * would check out. Keyed, an entry's stored checksum is its CRC32C masked with a
 * 32-bit value derived from the key and the file's first LSN: a sender, who knows
 * neither, has one chance in 2^32 per entry it plants, and the LSN bound of a resync
 * (wal-reader.ts) has to be met besides.
 *
 * A WAL file says in its header whether its entries are keyed (layout version 2) or
 * not (1: written before the store had a key).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { FORMAT_FILE } from './consts.js';

export const WAL_KEY_BYTES = 16;

export function newWalKey(): Buffer {
  return randomBytes(WAL_KEY_BYTES);
}

/** The mask of the entry checksums of the WAL file named by `firstLsn`: never 0 (0 stands for "not keyed"). */
export function walSalt(key: Buffer, firstLsn: number): number {
  const lsn = Buffer.alloc(8);
  lsn.writeDoubleLE(firstLsn);
  return crc32c(lsn, crc32c(key)) >>> 0 || 1;
}

export interface FormatFile {
  version: number;
  walKey: Buffer | null;
}

/**
 * The FORMAT file's text: `ringlog-store <version>`, then (version 3 on) `wal-key <32
 * hex digits>`, one per line. Null for anything else.
 */
export function parseFormat(text: string): FormatFile | null {
  const m = /^ringlog-store (\d+)\n?(?:wal-key ([0-9a-f]{32})\n?)?$/.exec(text);
  if (m === null) return null;
  return { version: Number(m[1]), walKey: m[2] === undefined ? null : Buffer.from(m[2], 'hex') };
}

export function formatText(version: number, walKey: Buffer | null): string {
  return `ringlog-store ${version}\n${walKey === null ? '' : `wal-key ${walKey.toString('hex')}\n`}`;
}

/** The WAL key of the store at `root` (its FORMAT file), or null when it has none or the file cannot be read. */
export function readWalKey(root: string): Buffer | null {
  try {
    return parseFormat(readFileSync(join(root, FORMAT_FILE), 'utf8'))?.walKey ?? null;
  } catch {
    return null;
  }
}
