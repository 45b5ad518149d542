/**
 * fileOpenElsewhere() (native/file_open.cc) on real files: false when nothing else has
 * the file open, true while another process does; and the process survives other
 * processes opening the file while it holds its momentary lease (the kernel's SIGIO).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileOpenElsewhere } from './file-open.js';
import { loadAddon } from './addon.js';

const dir = mkdtempSync(join(os.tmpdir(), 'ringlog-file-open-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const supported = (() => {
  if (loadAddon() === null || process.platform !== 'linux') return false;
  const probe = join(dir, 'probe');
  writeFileSync(probe, 'x');
  return fileOpenElsewhere(probe) === false;
})();

test('false when no one else has the file open, true while a descriptor is open', { skip: !supported && 'no native addon, not Linux, or no leases on this file system' }, () => {
  const f = join(dir, 'a');
  writeFileSync(f, 'x');
  assert.equal(fileOpenElsewhere(f), false);
  const fd = openSync(f, 'r');
  assert.equal(fileOpenElsewhere(f), true, 'a descriptor of this process counts');
  closeSync(fd);
  assert.equal(fileOpenElsewhere(f), false);
  assert.equal(fileOpenElsewhere(join(dir, 'missing')), null);
});

test('another process opening the file again and again while this one checks it: both answers seen, and this process lives (SIGIO)', { skip: !supported && 'no native addon, not Linux, or no leases on this file system' }, async () => {
  const f = join(dir, 'b');
  writeFileSync(f, 'x');
  const opener = spawn(process.execPath, ['-e', `
    const fs = require('node:fs');
    const until = Date.now() + 1500;
    while (Date.now() < until) fs.closeSync(fs.openSync(${JSON.stringify(f)}, 'r'));
  `], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => opener.on('exit', (code) => resolve(code)));
  const seen = { true: 0, false: 0, null: 0 };
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    for (let i = 0; i < 2000; i++) seen[String(fileOpenElsewhere(f)) as 'true' | 'false' | 'null']++;
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await exited, 0);
  assert.ok(seen.true > 0 && seen.false > 0, JSON.stringify(seen));
  assert.equal(seen.null, 0);
});
