#!/usr/bin/env node
// `npm install` runs this: builds the native addon (the recvmmsg datagram receiver, the RFC 5424 and JSON
// parsing passes, the store's block index and block encoding) with node-gyp.
// If it cannot be built (no compiler, not Linux), ringlog still works: UDP falls back to
// Node's dgram module and Unix datagram sockets to the unix-dgram package; the server
// says so at start-up. RINGLOG_NATIVE=require makes a failed build fail the install.
import { spawnSync } from 'node:child_process';

const r = spawnSync('node-gyp', ['rebuild', '--silent'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  const msg = 'ringlog: the native datagram receiver was not built; UDP and Unix datagram listeners will use the slower fallback, and parsing and the store their slower JavaScript paths (the same records and blocks)';
  if (process.env.RINGLOG_NATIVE === 'require') {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
}
