/**
 * TCP, TLS and Unix stream listeners. libuv runs the reactor (epoll, non-blocking
 * sockets, accept loop, EAGAIN handling); this file is the per-connection logic the
 * seeds ask for on top of it:
 *
 *   read ──► slab (read-slabs.ts) ──► framer (state machine) ──► [multiline joiner] ──► BatchBuilder
 *        ──► parse (listener's ParseStage) ──► pipeline.push()  └─ false → socket.pause() until 'resume'
 *   (TLS sockets cannot read into a user buffer: they take Node's 'data' chunks instead.)
 *   limits: max connections (refused, counted), idle timeout, max frame (in the framer),
 *   keepalive for dead peers, half-close ('end' flushes the last frame), EMFILE survived.
 */
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync, chmodSync } from 'node:fs';
import { prepareSocketPath } from './unix-path.js';
import { bindAddress } from './bind-address.js';
import type { ListenerContext } from './listener-context.js';
import { BatchBuilder, nowMs, type Source } from '../pipeline/batch.js';
import { createFramer } from '../protocols/framing/index.js';
import type { Framer, FrameSink } from '../protocols/framing/framer.js';
import { MultilineJoiner } from '../protocols/multiline.js';
import { spend } from './turn-budget.js';
import { parseHostPort, formatHostPort, formatPeer } from '../config/address.js';
import { RinglogError } from '../errors.js';
import type { PauseSet } from './pause-set.js';
import { SlabPool, type Slab } from './read-slabs.js';

/** Idle limit applied to every connection once shutdown starts: quiet senders are done. */
const SHUTDOWN_IDLE_MS = 500;

const kConn = Symbol('ringlog.connection');
type ConnSocket = net.Socket & { [kConn]: Connection };

// Handlers shared by every socket (`this` is the socket): an idle connection costs
// no closures. With 10,000 idle connections, every byte per connection counts.
function onSocketData(this: ConnSocket, chunk: Buffer): void {
  this[kConn].onData(chunk);
}
/** net.Socket `onread` callback: `n` bytes are in the shared read buffer. */
function onSocketRead(this: ConnSocket, n: number): void {
  this[kConn].onRead(n);
}
function onSocketEnd(this: ConnSocket): void {
  this[kConn].finish();
}
function onSocketError(this: ConnSocket, err: NodeJS.ErrnoException): void {
  this[kConn].onError(err);
}
function onSocketClose(this: ConnSocket): void {
  const conn = this[kConn];
  conn.finish();
  conn.onClosed(conn);
}

/**
 * One stream connection. The framer and batch builder are created on the first
 * data (an idle connection holds neither); `lastActive` is checked by the
 * listener's idle sweep (one timer for all connections, as in the seeds'
 * reactor: update a timestamp per read, close the stale ones on a timer tick).
 */
class Connection {
  private framer: Framer | null = null;
  private builder: BatchBuilder | null = null;
  /** Where the framer's frames go: the builder, or the multiline joiner in front of it. */
  private sink: FrameSink | null = null;
  private joiner: MultilineJoiner | null = null;
  private finished = false;
  closeReason = 'peer';
  lastActive = nowMs();

  private peerText: string | null = null;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: ListenerContext,
    private readonly pauses: PauseSet,
    private readonly listenAddress: string,
    readonly onClosed: (conn: Connection) => void,
    private readonly slabs: SlabPool | null,
  ) {
    (socket as ConnSocket)[kConn] = this;
    if (slabs === null) socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  /** `ip:port` of the sender, looked up on first use (getpeername allocates; idle connections skip it). */
  get peer(): string {
    this.peerText ??= peerOf(this.socket, this.listenAddress);
    return this.peerText;
  }

  private start(): { framer: Framer; builder: BatchBuilder } {
    const { ctx, pauses, socket } = this;
    const peer = this.peer;
    const source: Source = { listener: ctx.opts.name, transport: ctx.opts.transport, peer };
    this.framer = createFramer(ctx.framerOptions(() => peer));
    const multiline = ctx.opts.multiline;
    const builder = new BatchBuilder(source, (batch) => {
      // Joined records live in the joiners' shared arena, not in a read slab: count their bytes, not the arena's.
      if (multiline) batch.retained = batch.bytes + batch.count * 8;
      if (!ctx.push(batch)) pauses.add(socket);
    });
    this.builder = builder;
    if (multiline) {
      this.joiner = new MultilineJoiner(multiline, builder.emit, () => builder.flush());
      this.sink = this.joiner.push;
    } else this.sink = builder.emit;
    return { framer: this.framer, builder };
  }

  /** A chunk from Node's own read buffers (TLS sockets). */
  onData(chunk: Buffer): void {
    this.ctx.bytesIn += chunk.length;
    this.frame(chunk, null);
    spend(this.socket, chunk.length, this.pauses);
  }

  /** A read into the shared buffer: copied into a slab, framed there, batches hold the slab. */
  onRead(n: number): void {
    this.ctx.bytesIn += n;
    const { slab, start } = this.slabs!.copyIn(n);
    this.frame(slab.buf.subarray(start, start + n), slab);
    spend(this.socket, n, this.pauses);
  }

  private frame(bytes: Buffer, hold: Slab | null): void {
    const { framer, builder } = this.framer !== null ? { framer: this.framer, builder: this.builder! } : this.start();
    const now = nowMs();
    this.lastActive = now;
    builder.stamp(now, bytes, hold);
    framer.push(bytes, this.sink!);
    builder.flush();
  }

  onError(err: NodeJS.ErrnoException): void {
    this.closeReason = 'error';
    this.ctx.log.debug('connection error', { listener: this.ctx.opts.name, peer: this.peer, error: err.code ?? err.message });
  }

  /** End of input (peer FIN, idle, shutdown or error): the trailing partial frame is kept, not lost. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.framer === null) return;
    this.framer.end(this.sink!);
    if (this.joiner) {
      this.joiner.flush();
      this.joiner.close();
    }
    this.builder!.flush();
  }

  /** Processes whatever Node has already read for this socket, then closes it. */
  drainAndDestroy(): void {
    if (!this.finished) {
      for (let chunk = this.socket.read() as Buffer | null; chunk !== null; chunk = this.socket.read() as Buffer | null) this.onData(chunk);
    }
    this.finish();
    this.socket.destroy();
  }
}

let slabPool: SlabPool | null = null;
/** One slab pool for the process: reads happen one at a time on the one event loop. */
function sharedSlabs(): SlabPool {
  slabPool ??= new SlabPool();
  return slabPool;
}

/**
 * Moves an accepted socket's descriptor to a new net.Socket that reads into the shared
 * read buffer (the `onread` option, which Node offers only to sockets it creates from
 * a handle, not to the ones a server accepts). The accepting Socket object, left
 * without a handle, is destroyed: that closes nothing and lets it be collected.
 */
function adopt(accepted: net.Socket, slabs: SlabPool): net.Socket {
  const holder = accepted as unknown as { _handle: unknown };
  const handle = holder._handle;
  holder._handle = null;
  accepted.destroy();
  return new net.Socket({
    handle,
    readable: true,
    writable: true,
    onread: { buffer: slabs.readBuffer, callback: onSocketRead as unknown as (n: number, buf: Uint8Array) => boolean },
  } as net.SocketConstructorOpts);
}

function peerOf(socket: net.Socket, fallback: string): string {
  if (socket.remoteAddress === undefined) return fallback;
  return formatPeer(socket.remoteAddress, socket.remotePort ?? 0);
}

export class StreamListener {
  private server: net.Server | null = null;
  private readonly connections = new Set<Connection>();
  private closing = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Connection cap in force (max-connections, or lower under the open-files limit) and the reason refusals get. */
  private cap = 0;
  private capReason = 'max_connections';
  /** Read memory for plain TCP and Unix sockets; null for TLS (Node's 'data' chunks). */
  private readonly slabs: SlabPool | null;
  /** Current idle limit in ms (0 = none); shortened when shutdown starts. */
  private idleLimit: number;
  address = '';

  constructor(
    private readonly ctx: ListenerContext,
    private readonly pauses: PauseSet,
  ) {
    this.idleLimit = ctx.opts.idleTimeout;
    this.slabs = ctx.opts.transport === 'tls' ? null : sharedSlabs();
  }

  /**
   * Closes connections quiet for longer than the idle limit; paused ones are quiet because
   * of us, not idle. A connection that looks quiet is closed only after the event loop has
   * polled the sockets once more (setImmediate runs after the poll phase): when the loop
   * itself was busy for longer than the limit, its reads are still waiting, and the
   * connection is not idle (closing it then would reset a sender mid-stream).
   */
  private sweep(): void {
    const limit = this.idleLimit;
    if (limit <= 0) return;
    const quiet = (c: Connection, cutoff: number): boolean =>
      c.lastActive <= cutoff && !this.pauses.has(c.socket) && this.pauses.resumedAt(c.socket) <= cutoff;
    const cutoff = nowMs() - limit;
    const candidates: Connection[] = [];
    for (const c of this.connections) if (quiet(c, cutoff)) candidates.push(c);
    if (candidates.length === 0) return;
    setImmediate(() => {
      for (const c of candidates) {
        if (!this.connections.has(c) || !quiet(c, cutoff)) continue;
        if (c.closeReason === 'peer') c.closeReason = this.closing ? 'shutdown' : 'idle_timeout';
        c.drainAndDestroy();
      }
    });
  }

  /** Sweeps at a quarter of the limit, so a connection is closed within 1.25 × the limit. */
  private startSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.idleLimit <= 0) return;
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(Math.max(this.idleLimit / 4, 25), 5_000));
    this.sweepTimer.unref();
  }

  get openConnections(): number {
    return this.connections.size;
  }

  private onConnection(accepted: net.Socket): void {
    if (this.closing) {
      this.ctx.refused('shutting_down', peerOf(accepted, this.address));
      accepted.destroy();
      return;
    }
    let socket = accepted;
    if (this.slabs !== null) {
      // Node's own max-connections count ends with the adoption below, so the cap is kept here.
      if (this.connections.size >= this.cap) {
        this.ctx.refused(this.capReason, peerOf(accepted, this.address));
        accepted.destroy();
        return;
      }
      socket = adopt(accepted, this.slabs);
    }
    const conn = new Connection(socket, this.ctx, this.pauses, this.address, this.onClosed, this.slabs);
    if (this.slabs !== null) socket.resume();
    this.connections.add(conn);
    this.ctx.accepted.inc();
    this.ctx.open.inc();
  }

  /** Shared by this listener's connections (one closure per listener, not per connection). */
  private readonly onClosed = (conn: Connection): void => {
    this.connections.delete(conn);
    this.pauses.delete(conn.socket);
    this.ctx.open.dec();
    this.ctx.closed(conn.closeReason);
  };

  private createServer(): net.Server {
    const cfg = this.ctx.opts.config;
    const common = { noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 };
    if (cfg.type === 'tls') {
      let secure: tls.TlsOptions;
      try {
        secure = {
          cert: readFileSync(cfg.cert),
          key: readFileSync(cfg.key),
          ...(cfg.ca ? { ca: readFileSync(cfg.ca) } : {}),
          requestCert: cfg.requireClientCert === true,
          rejectUnauthorized: cfg.requireClientCert === true,
          handshakeTimeout: cfg.handshakeTimeout ?? 10_000,
        };
        tls.createSecureContext(secure);
      } catch (err) {
        throw new RinglogError('RL_TLS_FILES', `listener ${this.ctx.opts.name}: cannot load TLS files: ${(err as Error).message}`, { cause: err });
      }
      const server = tls.createServer({ ...secure, ...common }, (s) => this.onConnection(s));
      server.on('tlsClientError', (err, s) => this.ctx.refused('tls_handshake', peerOf(s, this.address), err.message));
      return server;
    }
    // Paused on connect: plain sockets are adopted (adopt()) before any read happens.
    return net.createServer({ ...common, pauseOnConnect: true }, (s) => this.onConnection(s));
  }

  /**
   * `fdBudget`: connections the open-files limit leaves for this listener (fd-budget.ts);
   * when it is below max-connections, it becomes the cap and refusals are counted as `fd_limit`.
   */
  async listen(fdBudget: number | null): Promise<void> {
    const cfg = this.ctx.opts.config;
    const server = this.createServer();
    this.server = server;
    const configured = this.ctx.opts.maxConnections;
    const fdBound = fdBudget !== null && fdBudget < configured;
    this.cap = fdBound ? fdBudget : configured;
    this.capReason = fdBound ? 'fd_limit' : 'max_connections';
    // TLS connections are refused by Node before the handshake; plain ones in onConnection().
    if (this.slabs === null) server.maxConnections = this.cap;
    if (fdBound) {
      this.ctx.log.warn('max-connections lowered to what the open-files limit allows; raise ulimit -n (LimitNOFILE)', {
        listener: this.ctx.opts.name, max_connections: configured, effective: fdBudget,
      });
    }
    server.on('drop', (d?: { remoteAddress?: string; remotePort?: number }) => {
      this.ctx.refused(this.capReason, d?.remoteAddress ? formatPeer(d.remoteAddress, d.remotePort ?? 0) : this.address);
    });
    if (cfg.type === 'unix') {
      await prepareSocketPath(cfg.path, this.ctx.opts.name, 'stream');
      try {
        await listenOn(server, { path: cfg.path });
      } catch (err) {
        throw new RinglogError('RL_LISTEN_FAILED', `listener ${this.ctx.opts.name}: cannot listen on ${cfg.path}: ${(err as Error).message}`, { cause: err });
      }
      if (cfg.mode) chmodSync(cfg.path, parseInt(cfg.mode, 8));
      this.address = cfg.path;
    } else if (cfg.type === 'tcp' || cfg.type === 'tls') {
      const hp = parseHostPort(cfg.address)!;
      await listenTcp(server, hp.host, hp.port, this.ctx.opts.name);
      const a = server.address() as net.AddressInfo;
      this.address = formatHostPort(a.address, a.port);
    }
    this.startSweep();
    // After listening, errors come from accept(). EMFILE/ENFILE rarely get here: libuv sheds such
    // connections itself (a spare descriptor), which is why the cap above stays under the limit (fd-budget.ts).
    server.on('error', (err: NodeJS.ErrnoException) => {
      this.ctx.refused(err.code === 'EMFILE' || err.code === 'ENFILE' ? 'emfile' : 'accept_error', this.address, err.message);
    });
  }

  /**
   * Stops accepting; open connections may go on sending until they are quiet for
   * SHUTDOWN_IDLE_MS or `graceMs` has passed, whichever is first. Resolves when all are closed.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    this.server?.close();
    this.idleLimit = Math.min(SHUTDOWN_IDLE_MS, graceMs || SHUTDOWN_IDLE_MS);
    this.startSweep();
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.connections) {
      c.closeReason = 'shutdown';
      c.drainAndDestroy();
    }
    while (this.connections.size > 0) await new Promise((r) => setTimeout(r, 5));
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }
}

/** Listens; rejects with the system error (its `code`, e.g. EADDRINUSE, intact). */
function listenOn(server: net.Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ ...opts, backlog: 4096 });
  });
}

/** An empty host means every interface: IPv6 dual-stack, or IPv4 where IPv6 is unavailable. */
export function listenTcp(server: net.Server, host: string, port: number, name: string): Promise<void> {
  return bindAddress(host, port, name, 'listen on', (h) => listenOn(server, { host: h, port, ...(h === '::' ? { ipv6Only: false } : {}) }));
}
