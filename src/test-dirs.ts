/**
 * Temporary directories for a test file: `const tempDir = tempDirs('ringlog-x-')` at the
 * top of the file, then `tempDir()` makes one under os.tmpdir(); all of them are removed
 * when the file's tests are done.
 */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
