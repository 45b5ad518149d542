#!/usr/bin/env node
// Loaded dynamically so that a failure while loading (for example EMFILE under a very
// low descriptor limit) is reported in one line, not as a stack trace.
try {
  const { main } = await import('../dist/src/cli/index.js');
  await main(process.argv);
} catch (err) {
  const code = err && err.code;
  if (code === 'EMFILE' || code === 'ENFILE') {
    process.stderr.write('ringlog: too many open files while starting; raise the open-files limit (ulimit -n, systemd LimitNOFILE) to at least 1024\n');
  } else if (code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    process.stderr.write('ringlog: not built; run `npm install` (or `npm run build`) first\n');
  } else {
    const tag = typeof code === 'string' && code.startsWith('RL_') ? ` [${code}]` : '';
    process.stderr.write(`ringlog: ${err && err.message ? err.message : String(err)}${tag}\n`);
  }
  process.exit(1);
}
