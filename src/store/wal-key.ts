/**
 * The store's WAL key (docs/storage.md, "Write-ahead log"): 16 random bytes kept in the
 * store's FORMAT file, with which the checksums of WAL entries are keyed.
 *
 * Why: frames are copied into WAL entries byte for byte, so a sender can put a
 * well-formed entry, checksum and all, inside a message. Where a reader has to search
 * bytes it cannot tell apart (a resync past damage or a torn write), such an entry
 * would check out. Keyed, an entry's stored checksum is its CRC32C masked with a
 * 32-bit value derived from the key: a sender, who never sees a stored checksum, has
 * one chance in 2^32 per entry it plants, and the LSN bound of a resync (wal-reader.ts)
 * has to be met besides. (CRC32C is linear: anyone who can read the WAL can work the
 * mask out. It keeps out what senders plant, nothing more.)
 *
 * Which files are keyed: those whose first LSN (their name) is at least the `from` LSN
 * recorded with the key, the first LSN a file could have when the key was made. Files
 * of a store that existed before (version 1 or 2) keep plain checksums. The rule goes
 * by the name, so that a damaged header or first entry does not change how a file is
 * read. The header says it too (layout version 2), for people and tools.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { FORMAT_FILE } from './consts.js';

export const WAL_KEY_BYTES = 16;

export interface WalKey {
  key: Buffer;
  /** Files whose first LSN is this or more are keyed. */
  from: number;
}

export function newWalKey(from: number): WalKey {
  return { key: randomBytes(WAL_KEY_BYTES), from };
}

/** The mask of a keyed file's entry checksums: never 0 (0 stands for "plain"). */
export function walMask(key: Buffer): number {
  return crc32c(key) >>> 0 || 1;
}

/** The mask of the entry checksums of the WAL file named by `firstLsn` (0: plain). */
export function walFileSalt(walKey: WalKey | null, firstLsn: number): number {
  return walKey !== null && firstLsn >= walKey.from ? walMask(walKey.key) : 0;
}

export interface FormatFile {
  version: number;
  walKey: WalKey | null;
}

/**
 * The FORMAT file's text: `ringlog-store <version>`, then (version 3 on) `wal-key <32
 * hex digits> from <LSN>`, one per line. Null for anything else.
 */
export function parseFormat(text: string): FormatFile | null {
  const m = /^ringlog-store (\d+)\n?(?:wal-key ([0-9a-f]{32}) from (\d{1,16})\n?)?$/.exec(text);
  if (m === null) return null;
  return { version: Number(m[1]), walKey: m[2] === undefined ? null : { key: Buffer.from(m[2], 'hex'), from: Number(m[3]) } };
}

export function formatText(version: number, walKey: WalKey | null): string {
  return `ringlog-store ${version}\n${walKey === null ? '' : `wal-key ${walKey.key.toString('hex')} from ${walKey.from}\n`}`;
}

/** The WAL key of the store at `root` (its FORMAT file), or null when it has none or the file cannot be read. */
export function readWalKey(root: string): WalKey | null {
  try {
    return parseFormat(readFileSync(join(root, FORMAT_FILE), 'utf8'))?.walKey ?? null;
  } catch {
    return null;
  }
}
