/** fsync of a directory, so that a file created, renamed or removed in it survives a crash. */
import { closeSync, fsyncSync, openSync } from 'node:fs';

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
