/**
 * Opening connections for the load generator: stream sockets (tcp, tls, unix)
 * and datagram sockets (udp, unix-dgram). Sending lives in runner.ts.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { createRequire } from 'node:module';
import os from 'node:os';

export type Transport = 'tcp' | 'tls' | 'udp' | 'unix' | 'unix-dgram';
export const TRANSPORTS: readonly Transport[] = ['tcp', 'tls', 'udp', 'unix', 'unix-dgram'];

export function isDatagram(t: Transport): boolean {
  return t === 'udp' || t === 'unix-dgram';
}

export function isUnix(t: Transport): boolean {
  return t === 'unix' || t === 'unix-dgram';
}

export interface Endpoint {
  transport: Transport;
  /** tcp/tls/udp */
  host: string;
  port: number;
  /** unix/unix-dgram */
  path?: string;
  tls?: { insecure?: boolean; ca?: Buffer | string };
}

/** Human-readable name of the target: "tcp 127.0.0.1:5140", "unix /run/x.sock". */
export function describeEndpoint(ep: Endpoint): string {
  if (isUnix(ep.transport)) return `${ep.transport} ${ep.path}`;
  const h = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
  return `${ep.transport} ${h}:${ep.port}`;
}

/** Error with a message meant for the user (no stack needed). */
export class LoadgenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoadgenError';
  }
}

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(os.constants.errno).map(([name, n]) => [n as number, name]));

/** Error code as a name; unix-dgram reports negative errno numbers. */
export function errCode(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown; message?: string } | undefined;
  if (!e) return String(err);
  const c = e.code ?? e.errno;
  if (typeof c === 'number') return ERRNO_NAMES.get(Math.abs(c)) ?? String(c);
  if (typeof c === 'string' && c) return c;
  return e.message ?? String(err);
}

function errMessage(err: unknown): string {
  const e = err as { code?: unknown; syscall?: string; message?: string } | undefined;
  if (e && typeof e.code === 'number') return `${e.syscall ?? 'socket'} ${errCode(err)}`;
  return e?.message ?? String(err);
}

const HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening there',
  ENOENT: 'no such socket file',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  EADDRNOTAVAIL: 'out of local addresses/ports',
  EMFILE: 'too many open files: raise ulimit -n',
  ENFILE: 'too many open files in the system',
  ECONNRESET: 'the peer reset the connection',
  EPIPE: 'the peer closed the connection',
};

export function connectError(ep: Endpoint, err: unknown): LoadgenError {
  const code = errCode(err);
  const hint = HINTS[code];
  const msg = errMessage(err);
  return new LoadgenError(`cannot connect to ${describeEndpoint(ep)}: ${msg}${hint ? ` (${hint})` : ''}`, { cause: err });
}

export function sendError(ep: Endpoint, conn: number, err: unknown): LoadgenError {
  const code = errCode(err);
  const hint = HINTS[code];
  const msg = errMessage(err);
  return new LoadgenError(`connection ${conn} to ${describeEndpoint(ep)} failed: ${msg}${hint ? ` (${hint})` : ''}`, { cause: err });
}

function isIp(host: string): boolean {
  return net.isIP(host) !== 0;
}

/** Opens one stream connection; resolves once connected (and, for TLS, handshaken). */
export function connectStream(ep: Endpoint, timeoutMs = 10_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let sock: net.Socket;
    let readyEvent = 'connect';
    if (ep.transport === 'tcp') {
      sock = net.connect({ host: ep.host, port: ep.port, noDelay: true });
    } else if (ep.transport === 'unix') {
      sock = net.connect({ path: ep.path! });
    } else if (ep.transport === 'tls') {
      const opts: tls.ConnectionOptions = {
        host: ep.host,
        port: ep.port,
        rejectUnauthorized: !ep.tls?.insecure,
      };
      if (ep.tls?.ca) opts.ca = ep.tls.ca;
      if (!isIp(ep.host)) opts.servername = ep.host;
      sock = tls.connect(opts);
      readyEvent = 'secureConnect';
    } else {
      reject(new Error(`internal: ${ep.transport} is not a stream transport`));
      return;
    }
    const timer = setTimeout(() => {
      cleanup();
      sock.destroy();
      reject(connectError(ep, Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    }, timeoutMs);
    const onError = (err: Error) => {
      cleanup();
      sock.destroy();
      reject(connectError(ep, err));
    };
    const onReady = () => {
      cleanup();
      if (ep.transport === 'tcp') sock.setNoDelay(true);
      resolve(sock);
    };
    const cleanup = () => {
      clearTimeout(timer);
      sock.off('error', onError);
      sock.off(readyEvent, onReady);
    };
    sock.once('error', onError);
    sock.once(readyEvent, onReady);
  });
}

/** A connected UDP socket. */
export function connectUdp(ep: Endpoint): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const type = net.isIPv6(ep.host) ? 'udp6' : 'udp4';
    const sock = dgram.createSocket(type);
    const onError = (err: Error) => {
      sock.close();
      reject(connectError(ep, err));
    };
    sock.once('error', onError);
    sock.connect(ep.port, ep.host, () => {
      sock.off('error', onError);
      try {
        // A bigger send buffer smooths bursts; the kernel caps it at wmem_max.
        sock.setSendBufferSize(4 * 1024 * 1024);
      } catch {
        /* not fatal */
      }
      resolve(sock);
    });
  });
}

/** The part of the `unix-dgram` package's socket that we use. */
export interface UnixDgramSocket {
  on(event: 'error', fn: (err: NodeJS.ErrnoException) => void): this;
  on(event: 'connect' | 'writable', fn: () => void): this;
  on(event: 'congestion', fn: (buf: Buffer) => void): this;
  once(event: 'writable', fn: () => void): this;
  off(event: string, fn: (...args: never[]) => void): this;
  removeAllListeners(event?: string): this;
  connect(path: string): void;
  /** Connected form: the callback is called synchronously; err.message 'congestion' means EAGAIN/ENOBUFS. */
  send(buf: Buffer, cb: (err?: Error & { code?: number | string }) => void): void;
  close(): void;
}

interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

let unixDgramModule: UnixDgramModule | undefined;
function loadUnixDgram(): UnixDgramModule {
  if (!unixDgramModule) {
    const require = createRequire(import.meta.url);
    try {
      unixDgramModule = require('unix-dgram') as UnixDgramModule;
    } catch (err) {
      throw new LoadgenError(`the unix-dgram transport needs the 'unix-dgram' package: ${(err as Error).message}`);
    }
  }
  return unixDgramModule;
}

/** A unix datagram socket connected to `ep.path` (connect is synchronous in unix-dgram). */
export function connectUnixDgram(ep: Endpoint): UnixDgramSocket {
  const mod = loadUnixDgram();
  const sock = mod.createSocket('unix_dgram');
  let failure: unknown;
  const onError = (err: unknown) => {
    failure = err;
  };
  sock.on('error', onError);
  sock.connect(ep.path!);
  sock.off('error', onError);
  if (failure) {
    try {
      sock.close();
    } catch {
      /* ignore */
    }
    throw connectError(ep, failure);
  }
  return sock;
}
