/** Small file-system steps the store repeats: durable directory changes, cutting a file, listing a directory that may not exist. */
import { closeSync, constants, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync of a directory, so that a file created, renamed or removed in it survives a crash. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The same without blocking the event loop: a directory fsync waits for a journal
 * commit, which on a busy disk takes tens of milliseconds.
 */
export async function syncDirAsync(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Puts `data` in place of the file at `path` so that a crash leaves either the old file
 * or the new one, whole: written to `path.tmp`, synced, renamed over it, directory synced.
 */
export function replaceFileDurably(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r+');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** Cuts a file to `len` bytes and syncs it. */
export function truncateFile(path: string, len: number): void {
  const fd = openSync(path, constants.O_RDWR);
  try {
    ftruncateSync(fd, len);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The names in a directory, or none when it does not exist (deleted by retention, not created yet). */
export function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
