/**
 * UDP and Unix datagram listeners: one frame per datagram. Datagrams arrive one
 * callback each, so they are coalesced: each is copied into an arena (a few hundred
 * bytes of memcpy, cheaper than a batch per datagram) and the batch is handed on at
 * the end of the current event-loop turn or when the arena is full.
 *
 * Datagram senders cannot be paused: while the pipeline is over its high watermark,
 * datagrams are dropped and counted (`ringlog_dropped_total{reason="queue_full"}`).
 * The kernel's own drops (receive buffer overflow) show in /proc/net/udp; a larger
 * `recvBufferSize` makes them rarer.
 */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { unlinkSync, chmodSync, readFileSync } from 'node:fs';
import { prepareSocketPath } from './unix-path.js';
import type { ListenerContext } from './listener-context.js';
import { nowMs, type FrameBatch, type Source } from '../pipeline/batch.js';
import { frameDatagram } from '../protocols/framing/index.js';
import type { FramerOptions } from '../protocols/framing/framer.js';
import { parseHostPort, formatHostPort, formatPeer } from '../config/address.js';
import { RinglogError } from '../errors.js';

const ARENA_BYTES = 256 * 1024;
/** Receive buffer asked for when none is configured: bursts of small datagrams overflow the 208 KiB default. The kernel caps it at net.core.rmem_max. */
const DEFAULT_RCVBUF = 8 * 1024 * 1024;

/**
 * The kernel's drop count for the UDP socket bound to this port, from the `drops`
 * column of /proc/net/udp{,6}; null where that is not readable (not Linux).
 */
function kernelUdpDrops(port: number): number | null {
  const portHex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  let found = false;
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13 || !cols[1]!.endsWith(portHex)) continue;
      found = true;
      drops += Number(cols[cols.length - 1]) || 0;
    }
  }
  return found ? drops : null;
}
const MAX_FRAMES_PER_BATCH = 4096;

/** Builds batches of datagrams, each frame copied into a shared arena. */
class DatagramBatcher {
  private arena: Buffer;
  private used = 0;
  private offsets = new Uint32Array(MAX_FRAMES_PER_BATCH * 2);
  private flags: Uint8Array | null = null;
  private peers: string[] = [];
  private count = 0;
  private received = 0;
  private scheduled = false;
  peer = '';
  readonly emit = (buf: Buffer, start: number, end: number, flags: number): void => this.add(buf, start, end, flags);

  constructor(
    private readonly source: Source,
    private readonly ctx: ListenerContext,
    private readonly maxFrame: number,
  ) {
    this.arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, maxFrame));
  }

  /** Sets the sender of the frames emitted next. */
  from(peer: string): void {
    this.peer = peer;
  }

  private add(buf: Buffer, start: number, end: number, flags: number): void {
    const len = end - start;
    if (this.used + len > this.arena.length || this.count === MAX_FRAMES_PER_BATCH) this.flush();
    if (this.count === 0) this.received = nowMs();
    buf.copy(this.arena, this.used, start, end);
    this.offsets[2 * this.count] = this.used;
    this.offsets[2 * this.count + 1] = this.used + len;
    if (flags !== 0) {
      this.flags ??= new Uint8Array(MAX_FRAMES_PER_BATCH);
      this.flags[this.count] = flags;
    }
    this.peers.push(this.peer);
    this.used += len;
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.count === 0) return;
    const n = this.count;
    const batch: FrameBatch = {
      buf: this.arena.subarray(0, this.used),
      offsets: this.offsets.slice(0, 2 * n),
      flags: this.flags ? this.flags.slice(0, n) : null,
      count: n,
      bytes: this.used,
      retained: this.used + n * 8,
      received: this.received,
      source: this.source,
      peers: this.peers,
    };
    // The arena now belongs to the batch; start a fresh one (sized so a max frame always fits).
    this.arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, this.maxFrame));
    this.used = 0;
    this.count = 0;
    this.flags = null;
    this.peers = [];
    if (this.ctx.pipeline.offer(batch)) this.ctx.framesIn += n;
    else this.ctx.dropped('queue_full', n);
  }
}

export class DatagramListener {
  private udp: dgram.Socket | null = null;
  private unix: { close(): void } | null = null;
  private batcher: DatagramBatcher | null = null;
  private drops = 0;
  address = '';

  constructor(private readonly ctx: ListenerContext) {}

  private onMessage(msg: Buffer, peer: string, opts: FramerOptions): void {
    this.ctx.bytesIn += msg.length;
    // Checked before copying: while over the watermark the datagram is dropped at once.
    // Drops are summed and reported (counter and rate-limited log) once per event-loop turn.
    if (this.ctx.pipeline.paused) {
      if (this.drops++ === 0) setImmediate(() => this.report());
      return;
    }
    this.batcher!.from(peer);
    frameDatagram(msg, opts, this.batcher!.emit);
  }

  private report(): void {
    const n = this.drops;
    this.drops = 0;
    if (n > 0) this.ctx.dropped('queue_full', n);
  }

  async listen(): Promise<void> {
    const cfg = this.ctx.opts.config;
    const source: Source = { listener: this.ctx.opts.name, transport: this.ctx.opts.transport, peer: '' };
    this.batcher = new DatagramBatcher(source, this.ctx, this.ctx.opts.maxFrame);
    if (cfg.type === 'udp') {
      const hp = parseHostPort(cfg.address)!;
      const sock = await bindUdp(hp.host, hp.port, this.ctx.opts.name);
      this.udp = sock;
      const a = sock.address();
      this.address = formatHostPort(a.address, a.port);
      this.setRecvBuffer(sock, cfg.recvBufferSize);
      let reported = kernelUdpDrops(a.port) ?? 0;
      const counter = this.ctx.metrics.kernelDrops.labels({ listener: this.ctx.opts.name });
      counter.inc(0);
      this.ctx.metrics.onCollect(() => {
        if (!this.udp) return;
        const now = kernelUdpDrops(a.port);
        if (now !== null && now > reported) counter.inc(now - reported);
        if (now !== null) reported = now;
      });
      const opts = this.ctx.framerOptions(() => this.batcher!.peer);
      sock.on('message', (msg, rinfo) => this.onMessage(msg, formatPeer(rinfo.address, rinfo.port), opts));
      sock.on('error', (err) => this.ctx.log.error('UDP socket error', { listener: this.ctx.opts.name, error: err.message }));
    } else if (cfg.type === 'unix-dgram') {
      const opts = this.ctx.framerOptions(() => cfg.path);
      this.unix = await bindUnixDgram(cfg.path, this.ctx.opts.name, (msg) => this.onMessage(msg, cfg.path, opts));
      if (cfg.mode) chmodSync(cfg.path, parseInt(cfg.mode, 8));
      this.address = cfg.path;
    }
  }

  private setRecvBuffer(sock: dgram.Socket, wanted: number | undefined): void {
    const ask = wanted ?? DEFAULT_RCVBUF;
    try {
      sock.setRecvBufferSize(ask);
    } catch {
      /* reported below through the effective size */
    }
    // Linux doubles the value for bookkeeping and caps it at 2 × net.core.rmem_max.
    // Linux reports twice what it granted (the other half is its bookkeeping).
    const got = sock.getRecvBufferSize() / 2;
    if (wanted !== undefined && got < wanted) {
      this.ctx.log.warn('UDP receive buffer is smaller than configured; raise net.core.rmem_max', {
        listener: this.ctx.opts.name, wanted, effective: got,
      });
    }
  }

  /** Hands on what has been received, then stops listening. */
  async close(): Promise<void> {
    this.batcher?.flush();
    this.report();
    if (this.udp) await new Promise<void>((r) => this.udp!.close(() => r()));
    if (this.unix) {
      this.unix.close();
      try {
        unlinkSync(this.address);
      } catch {
        /* already gone */
      }
    }
    this.udp = null;
    this.unix = null;
  }
}

function bindSocket(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type, ipv6Only: false });
    sock.once('error', (err) => {
      sock.close();
      reject(err);
    });
    sock.bind({ address: host, port }, () => {
      sock.removeAllListeners('error');
      resolve(sock);
    });
  });
}

async function bindUdp(host: string, port: number, name: string): Promise<dgram.Socket> {
  const fail = (err: NodeJS.ErrnoException, what: string) =>
    new RinglogError('RL_LISTEN_FAILED', `listener ${name}: cannot bind UDP ${what}: ${err.message}`, { cause: err });
  if (host !== '') {
    const type = host.includes(':') ? 'udp6' : 'udp4';
    try {
      return await bindSocket(type, host, port);
    } catch (err) {
      throw fail(err as NodeJS.ErrnoException, formatHostPort(host, port));
    }
  }
  try {
    return await bindSocket('udp6', '::', port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw fail(err as NodeJS.ErrnoException, `[::]:${port}`);
  }
  try {
    return await bindSocket('udp4', '0.0.0.0', port);
  } catch (err) {
    throw fail(err as NodeJS.ErrnoException, `0.0.0.0:${port}`);
  }
}

interface UnixDgramSocket {
  bind(path: string): void;
  close(): void;
  on(ev: string, cb: (...args: unknown[]) => void): void;
  once(ev: string, cb: (...args: unknown[]) => void): void;
  removeAllListeners(ev: string): void;
}

/** Node has no AF_UNIX datagram sockets; the `unix-dgram` addon provides them (recv in C++, one callback per datagram). */
async function bindUnixDgram(path: string, name: string, onMessage: (msg: Buffer) => void): Promise<UnixDgramSocket> {
  const require = createRequire(import.meta.url);
  const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram', cb: (msg: Buffer) => void): UnixDgramSocket };
  await prepareSocketPath(path, name, 'dgram');
  return new Promise((resolve, reject) => {
    const sock = unix.createSocket('unix_dgram', onMessage);
    sock.once('error', (err) => reject(new RinglogError('RL_LISTEN_FAILED', `listener ${name}: cannot bind ${path}: ${(err as Error).message}`, { cause: err })));
    sock.once('listening', () => {
      sock.removeAllListeners('error');
      sock.on('error', () => {});
      resolve(sock);
    });
    sock.bind(path);
  });
}
