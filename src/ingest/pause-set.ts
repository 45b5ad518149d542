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

export class PauseSet {
  private readonly sockets = new Set<Socket>();

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
    for (const s of this.sockets) s.resume();
    this.sockets.clear();
    this.metrics.socketsPaused.set(0);
  }
}
