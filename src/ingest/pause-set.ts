/**
 * The stream sockets paused for backpressure. A socket is paused when a push of its
 * data finds the pipeline over its high watermark; all resume together when the
 * pipeline falls under its low watermark. A paused socket stops reading (libuv
 * readStop once Node's small stream buffer is full), so the kernel's receive window
 * fills and TCP flow control slows the sender down: nothing is dropped.
 */
import type { Socket } from 'node:net';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Metrics } from '../metrics/metrics.js';
import { nowMs } from '../pipeline/batch.js';

export class PauseSet {
  private readonly sockets = new Set<Socket>();
  private readonly resumed = new WeakMap<Socket, number>();

  constructor(pipeline: Pipeline, private readonly metrics: Metrics) {
    pipeline.on('resume', () => this.resumeAll());
  }

  get size(): number {
    return this.sockets.size;
  }

  has(socket: Socket): boolean {
    return this.sockets.has(socket);
  }

  add(socket: Socket): void {
    if (this.sockets.has(socket) || socket.destroyed) return;
    socket.pause();
    this.sockets.add(socket);
    this.metrics.socketsPaused.set(this.sockets.size);
  }

  delete(socket: Socket): void {
    if (this.sockets.delete(socket)) this.metrics.socketsPaused.set(this.sockets.size);
  }

  private resumeAll(): void {
    const now = nowMs();
    for (const s of this.sockets) {
      s.resume();
      this.resumed.set(s, now);
    }
    this.sockets.clear();
    this.metrics.socketsPaused.set(0);
  }

  /**
   * When the socket was last resumed from backpressure (0: never). The idle sweep counts
   * a connection's quiet time from then: right after a resume, before the first read
   * lands, the connection is not idle — the server was.
   */
  resumedAt(socket: Socket): number {
    return this.resumed.get(socket) ?? 0;
  }
}
