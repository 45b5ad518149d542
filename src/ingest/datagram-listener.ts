/**
 * UDP and Unix datagram listeners: one frame per datagram.
 *
 * Two receive paths. The native one (native/dgram_receiver.cc, used when the addon
 * is built) reads up to 64 datagrams per recvmmsg call and hands a whole batch,
 * already in one buffer, to JavaScript in one callback. The fallback (Node's dgram,
 * the unix-dgram package) makes one callback per datagram, so datagrams are
 * coalesced: each is copied into an arena (a few hundred bytes of memcpy, cheaper
 * than a batch per datagram) and the batch is handed on at the end of the current
 * event-loop turn or when the arena is full.
 *
 * GELF (listeners with format `gelf` or `auto`): compressed and chunked GELF datagrams
 * are decoded first (gelf-datagram.ts: zlib/gzip with a size cap, chunk reassembly
 * per sender with limits and a timeout); the payload then goes through the per-datagram
 * path like any other datagram. Plain datagrams are not touched.
 *
 * Datagram senders cannot be paused: while the pipeline is over its high watermark,
 * datagrams are dropped and counted (`ringlog_dropped_total{reason="queue_full"}`).
 * The kernel's own drops (receive buffer overflow) show in /proc/net/udp; a larger
 * `recvBufferSize` makes them rarer.
 */
import dgram from 'node:dgram';
import { isIP, isIPv6 } from 'node:net';
import { lookup } from 'node:dns/promises';
import { bindAddress } from './bind-address.js';
import { loadNative, nativeLoadError, type NativeModule, type NativeDgramReceiver, type OnDatagrams } from '../native/dgram-receiver.js';
import { createRequire } from 'node:module';
import { unlinkSync, chmodSync, readFileSync } from 'node:fs';
import { prepareSocketPath } from './unix-path.js';
import type { ListenerContext } from './listener-context.js';
import { nowMs, type FrameBatch, type Source } from '../pipeline/batch.js';
import { frameDatagram } from '../protocols/framing/index.js';
import type { FramerOptions } from '../protocols/framing/framer.js';
import { GelfDatagramDecoder, isGelfBinary } from '../protocols/formats/gelf-datagram.js';
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
    readonly source: Source,
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
    // Only a decoded GELF message (up to gelf.maxMessage) can be larger than a fresh arena: it gets one of its own.
    if (len > this.arena.length) this.arena = Buffer.allocUnsafe(len);
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
      hold: null,
    };
    // The arena now belongs to the batch; start a fresh one (sized so a max frame always fits).
    this.arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, this.maxFrame));
    this.used = 0;
    this.count = 0;
    this.flags = null;
    this.peers = [];
    if (!this.ctx.offer(batch)) this.ctx.dropped('queue_full', n);
  }
}

/** What the listener needs of a bound datagram socket, native or Node's. */
interface BoundDatagramSocket {
  close(): Promise<void> | void;
  setRecvBufferSize(bytes: number): void;
  /** As Linux reports it: twice what it granted. */
  getRecvBufferSize(): number;
}

export class DatagramListener {
  private sock: BoundDatagramSocket | null = null;
  private batcher: DatagramBatcher | null = null;
  private drops = 0;
  address = '';
  /** 'native' (recvmmsg batches) or 'node' (one callback per datagram). */
  mode: 'native' | 'node' = 'node';
  /** Decoder of compressed/chunked GELF datagrams, on `gelf` and `auto` listeners. */
  private readonly gelf: GelfDatagramDecoder | null;

  constructor(private readonly ctx: ListenerContext) {
    const { format, gelf, name } = ctx.opts;
    this.gelf = format === 'gelf' || format === 'auto'
      ? new GelfDatagramDecoder({
          maxMessageBytes: gelf.maxMessage,
          maxPendingMessages: gelf.maxPendingMessages,
          maxPendingBytes: gelf.maxPendingBytes,
          timeoutMs: gelf.chunkTimeout,
          onEvent: (kind, peer, detail) => ctx.gelfDropped(kind, peer, detail?.error),
        })
      : null;
    if (this.gelf) for (const reason of ['decompress_failed', 'too_large', 'bad_chunk', 'expired']) ctx.metrics.gelfDropped.labels({ listener: name, reason }).inc(0);
  }

  private onMessage(msg: Buffer, peer: string, opts: FramerOptions): void {
    this.ctx.bytesIn += msg.length;
    // Checked before copying: while over the watermark the datagram is dropped at once.
    if (this.ctx.pipeline.paused) {
      this.drop(1);
      return;
    }
    this.batcher!.from(peer);
    if (this.gelf !== null && isGelfBinary(msg, 0, msg.length)) this.gelf.decodeTo(msg, 0, msg.length, peer, this.gelfSink(opts));
    else frameDatagram(msg, opts, this.batcher!.emit);
  }

  private gelfSinkFor: ((b: Buffer, start: number, end: number) => void) | null = null;
  /**
   * Where decoded GELF payloads go: framed (trailing delimiter) into the per-datagram batcher.
   * A reassembled or decompressed message is bounded by gelf.maxMessage (the decoder drops
   * larger ones as too_large), not by maxFrame: cutting a complete GELF document at maxFrame
   * would only turn it into an unparseable raw record.
   */
  private gelfSink(opts: FramerOptions): (b: Buffer, start: number, end: number) => void {
    if (this.gelfSinkFor === null) {
      const gelfOpts: FramerOptions = { ...opts, maxFrame: Math.max(opts.maxFrame, this.ctx.opts.gelf.maxMessage) };
      this.gelfSinkFor = (b, start, end) => frameDatagram(b, gelfOpts, this.batcher!.emit, start, end);
    }
    return this.gelfSinkFor;
  }

  /** Drops are summed and reported (counter and rate-limited log) once per event-loop turn. */
  private drop(n: number): void {
    if (this.drops === 0) setImmediate(() => this.report());
    this.drops += n;
  }

  private report(): void {
    const n = this.drops;
    this.drops = 0;
    if (n > 0) this.ctx.dropped('queue_full', n);
  }

  /**
   * A batch from the native receiver: datagrams already side by side in one buffer.
   * Each is framed in place (trailing delimiter, maxFrame), compacting the offsets
   * over dropped ones, and the batch goes on without another copy.
   */
  private onNativeBatch(buf: Buffer, offsets: Uint32Array, peers: string[] | null, cutByKernel: number, opts: FramerOptions): void {
    const n = offsets.length >> 1;
    this.ctx.bytesIn += buf.length;
    for (let k = 0; k < cutByKernel; k++) this.ctx.framingEvent('truncated', 65536, this.address);
    if (this.ctx.pipeline.paused) {
      this.drop(n);
      return;
    }
    let j = 0;
    let flags: Uint8Array | null = null;
    let bytes = 0;
    let i = 0;
    const emit = (_b: Buffer, start: number, end: number, f: number): void => {
      offsets[2 * j] = start;
      offsets[2 * j + 1] = end;
      if (f !== 0) (flags ??= new Uint8Array(n))[j] = f;
      if (peers) peers[j] = peers[i]!;
      bytes += end - start;
      j++;
    };
    const framerOpts = { ...opts, onEvent: (kind: Parameters<NonNullable<FramerOptions['onEvent']>>[0], len: number) => this.ctx.framingEvent(kind, len, peers ? peers[i]! : this.address) };
    const gelf = this.gelf;
    for (i = 0; i < n; i++) {
      const s = offsets[2 * i]!;
      const e = offsets[2 * i + 1]!;
      if (gelf !== null && isGelfBinary(buf, s, e)) {
        // Compressed or chunked GELF: decoded into its own buffer, batched by the per-datagram path.
        const peer = peers ? peers[i]! : this.address;
        this.batcher!.from(peer);
        gelf.decodeTo(buf, s, e, peer, this.gelfSink(opts));
        continue;
      }
      frameDatagram(buf, framerOpts, emit, s, e);
    }
    if (j === 0) return;
    if (peers) peers.length = j;
    const batch: FrameBatch = {
      buf,
      offsets: offsets.subarray(0, 2 * j),
      flags,
      count: j,
      bytes,
      retained: buf.length + offsets.byteLength,
      received: nowMs(),
      source: this.batcher!.source,
      peers,
      hold: null,
    };
    if (!this.ctx.offer(batch)) this.ctx.dropped('queue_full', j);
  }

  async listen(): Promise<void> {
    const cfg = this.ctx.opts.config;
    const source: Source = {
      listener: this.ctx.opts.name,
      transport: this.ctx.opts.transport,
      peer: cfg.type === 'unix-dgram' ? cfg.path : '',
    };
    this.batcher = new DatagramBatcher(source, this.ctx, this.ctx.opts.maxFrame);
    const native = loadNative();
    this.mode = native ? 'native' : 'node';
    if (!native) {
      this.ctx.log.warn('native datagram receiver not available; using the slower per-datagram path', {
        listener: this.ctx.opts.name, reason: nativeLoadError(),
      });
    }
    if (cfg.type === 'udp') {
      const hp = parseHostPort(cfg.address)!;
      const opts = this.ctx.framerOptions(() => this.batcher!.peer);
      let port: number;
      if (native) {
        const r = await bindNativeUdp(native, hp.host, hp.port, this.ctx.opts.name, (buf, offs, peers, cut) => this.onNativeBatch(buf, offs, peers, cut, opts));
        this.sock = r;
        const a = r.address();
        this.address = formatHostPort(a.address ?? '', a.port ?? 0);
        port = a.port ?? 0;
        r.start();
      } else {
        const sock = await bindUdp(hp.host, hp.port, this.ctx.opts.name);
        this.sock = { close: () => new Promise<void>((r) => sock.close(() => r())), setRecvBufferSize: (b) => sock.setRecvBufferSize(b), getRecvBufferSize: () => sock.getRecvBufferSize() };
        const a = sock.address();
        this.address = formatHostPort(a.address, a.port);
        port = a.port;
        sock.on('message', (msg, rinfo) => this.onMessage(msg, formatPeer(rinfo.address, rinfo.port), opts));
        sock.on('error', (err) => this.ctx.log.error('UDP socket error', { listener: this.ctx.opts.name, error: err.message }));
      }
      this.setRecvBuffer(cfg.recvBufferSize);
      this.watchKernelDrops(port);
    } else if (cfg.type === 'unix-dgram') {
      const opts = this.ctx.framerOptions(() => cfg.path);
      if (native) {
        await prepareSocketPath(cfg.path, this.ctx.opts.name, 'dgram');
        let r: NativeDgramReceiver;
        try {
          r = new native.DgramReceiver({ family: 'unix', path: cfg.path }, (buf, offs, _peers, cut) => this.onNativeBatch(buf, offs, null, cut, opts));
        } catch (err) {
          throw new RinglogError('RL_LISTEN_FAILED', `listener ${this.ctx.opts.name}: cannot bind ${cfg.path}: ${(err as Error).message}`, { cause: err });
        }
        this.sock = r;
        r.start();
        this.setRecvBuffer(undefined);
      } else {
        const u = await bindUnixDgram(cfg.path, this.ctx.opts.name, (msg) => this.onMessage(msg, cfg.path, opts));
        this.sock = { close: () => u.close(), setRecvBufferSize: () => {}, getRecvBufferSize: () => 0 };
      }
      if (cfg.mode) chmodSync(cfg.path, parseInt(cfg.mode, 8));
      this.address = cfg.path;
    }
  }

  private watchKernelDrops(port: number): void {
    let reported = kernelUdpDrops(port) ?? 0;
    const counter = this.ctx.metrics.kernelDrops.labels({ listener: this.ctx.opts.name });
    counter.inc(0);
    this.ctx.metrics.onCollect(() => {
      if (!this.sock) return;
      const now = kernelUdpDrops(port);
      if (now !== null && now > reported) counter.inc(now - reported);
      if (now !== null) reported = now;
    });
  }

  private setRecvBuffer(wanted: number | undefined): void {
    const sock = this.sock!;
    try {
      sock.setRecvBufferSize(wanted ?? DEFAULT_RCVBUF);
    } catch {
      /* reported below through the effective size */
    }
    // Linux reports twice what it granted (the other half is its bookkeeping) and caps it at net.core.rmem_max.
    const got = sock.getRecvBufferSize() / 2;
    if (wanted !== undefined && got < wanted) {
      this.ctx.log.warn('datagram receive buffer is smaller than configured; raise net.core.rmem_max', {
        listener: this.ctx.opts.name, wanted, effective: got,
      });
    }
  }

  /** Hands on what has been received, then stops listening. */
  async close(): Promise<void> {
    this.gelf?.close();
    this.batcher?.flush();
    this.report();
    const sock = this.sock;
    this.sock = null;
    if (sock) await sock.close();
    if (this.ctx.opts.transport === 'unix-dgram' && this.address) {
      try {
        unlinkSync(this.address);
      } catch {
        /* already gone */
      }
    }
  }
}

/** Binds the native receiver (it takes IP literals only, so names are looked up first). */
function bindNativeUdp(native: NativeModule, host: string, port: number, name: string, onBatch: OnDatagrams): Promise<NativeDgramReceiver> {
  return bindAddress(host, port, name, 'bind UDP', async (h) => {
    const ip = isIP(h) ? h : (await lookup(h)).address;
    return new native.DgramReceiver({ family: isIPv6(ip) ? 'udp6' : 'udp4', host: ip, port }, onBatch);
  });
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

function bindUdp(host: string, port: number, name: string): Promise<dgram.Socket> {
  return bindAddress(host, port, name, 'bind UDP', (h) => bindSocket(h.includes(':') ? 'udp6' : 'udp4', h, port));
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
