/**
 * Making room for a Unix socket listener at a path. A socket file left by an
 * earlier run is removed; one that a live process still listens on is not (that
 * would silently steal, say, journald's /dev/log), nor is a symlink or any other
 * kind of file.
 */
import net from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RinglogError } from '../errors.js';

interface UnixDgramClient {
  connect(path: string): void;
  close(): void;
  on(ev: string, cb: (...args: unknown[]) => void): void;
}

/** True when something accepts connections (stream) or datagrams (dgram) at `path`. */
function isLive(path: string, kind: 'stream' | 'dgram'): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (live: boolean) => {
      clearTimeout(timer);
      resolve(live);
    };
    // A listener that neither accepts nor refuses within a second is treated as live: better refuse to start.
    const timer = setTimeout(() => resolve(true), 1000);
    if (kind === 'stream') {
      const c = net.connect({ path });
      c.once('connect', () => {
        c.destroy();
        done(true);
      });
      c.once('error', () => done(false));
      return;
    }
    const require = createRequire(import.meta.url);
    const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramClient };
    const c = unix.createSocket('unix_dgram');
    c.on('connect', () => {
      c.close();
      done(true);
    });
    c.on('error', () => {
      c.close();
      done(false);
    });
    c.connect(path);
  });
}

export async function prepareSocketPath(path: string, listener: string, kind: 'stream' | 'dgram'): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (st.isSymbolicLink()) {
    throw new RinglogError('RL_LISTEN_FAILED', `listener ${listener}: ${path} is a symlink (to another logging daemon's socket?); remove it or choose another path`);
  }
  if (!st.isSocket()) {
    throw new RinglogError('RL_LISTEN_FAILED', `listener ${listener}: ${path} exists and is not a socket; refusing to replace it`);
  }
  if (await isLive(path, kind)) {
    throw new RinglogError('RL_LISTEN_FAILED', `listener ${listener}: another process is listening on ${path}`);
  }
  unlinkSync(path); // stale, from an earlier run
}
