/**
 * The ingest edge: every configured listener, feeding one pipeline. Owns the set of
 * paused sockets and the shutdown of the edge (stop accepting, let open connections
 * finish within the grace period, hand on every frame already received).
 */
import { listenerNames, type Config } from '../config/schema.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Logger } from '../log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { ListenerContext, resolveListener } from './listener-context.js';
import { StreamListener } from './stream-listener.js';
import { DatagramListener } from './datagram-listener.js';
import { PauseSet } from './pause-set.js';
import { connectionBudget } from './fd-budget.js';

export interface BoundListener {
  name: string;
  transport: string;
  address: string;
}

export class Edge {
  private readonly streams: StreamListener[] = [];
  private readonly datagrams: DatagramListener[] = [];
  private readonly bound: BoundListener[] = [];
  readonly pauses: PauseSet;
  /** Listeners parse on the event loop (an output needs records there); else the store worker parses. */
  parseHere = true;

  constructor(
    private readonly config: Config,
    private readonly pipeline: Pipeline,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.pauses = new PauseSet(pipeline, metrics);
  }

  get listeners(): readonly BoundListener[] {
    return this.bound;
  }

  /** Binds every listener; on any failure closes those already bound and throws. */
  async start(): Promise<void> {
    const names = listenerNames(this.config.listeners);
    const streamCount = this.config.listeners.filter((l) => l.type === 'tcp' || l.type === 'tls' || l.type === 'unix').length;
    const fdBudget = connectionBudget(streamCount);
    try {
      for (const [i, l] of this.config.listeners.entries()) {
        const opts = resolveListener(this.config, l, names[i]!);
        const ctx = new ListenerContext(opts, this.pipeline, this.metrics, this.log);
        ctx.parseHere = this.parseHere;
        let address: string;
        if (opts.transport === 'udp' || opts.transport === 'unix-dgram') {
          const d = new DatagramListener(ctx);
          this.datagrams.push(d);
          await d.listen();
          address = d.address;
        } else {
          const s = new StreamListener(ctx, this.pauses);
          this.streams.push(s);
          await s.listen(fdBudget);
          address = s.address;
        }
        this.bound.push({ name: opts.name, transport: opts.transport, address });
        this.log.info('listening', { listener: opts.name, transport: opts.transport, address });
      }
    } catch (err) {
      await this.stop(0);
      throw err;
    }
  }

  get openConnections(): number {
    let n = 0;
    for (const s of this.streams) n += s.openConnections;
    return n;
  }

  /** Stops accepting and receiving; every frame received so far is in the pipeline when this resolves. */
  async stop(graceMs: number): Promise<void> {
    await Promise.all([...this.datagrams.map((d) => d.close()), ...this.streams.map((s) => s.close(graceMs))]);
  }
}
