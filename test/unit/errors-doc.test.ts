// Every error code in src/errors.ts is documented in docs/errors.md, and the doc names no code that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../../src/errors.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');

test('docs/errors.md has a section for every error code, and only those', () => {
  const documented = new Set([...doc.matchAll(/^## (RL_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!));
  const codes = new Set(Object.keys(ERROR_CODES));
  for (const c of codes) assert.ok(documented.has(c), `${c} is missing from docs/errors.md`);
  for (const d of documented) assert.ok(codes.has(d), `docs/errors.md documents ${d}, which src/errors.ts does not define`);
});

test('serve --help documents every option', async () => {
  const { serveCommand } = await import('../../src/cli/serve.js');
  const { SERVE_OPTIONS } = await import('../../src/config/load.js');
  const help = serveCommand().helpInformation();
  for (const def of SERVE_OPTIONS) assert.ok(help.includes(`--${def.flag}`), `--${def.flag} missing from serve --help`);
});
