/**
 * Wiring only: config → outputs → pipeline → edge → HTTP, and the shutdown order
 * (docs/architecture.md):
 *
 *   0. HTTP ingest: new requests get 503; requests being read finish and are answered
 *      (within `limits.shutdownGrace`); queries and live tails end
 *   1. stop accepting; open connections get `limits.shutdownGrace` to finish sending
 *   2. every frame received is in the pipeline (partial frames at close included)
 *   3. the pipeline writes everything queued to every output
 *   4. outputs flush and fdatasync, then close
 *   5. the HTTP port closes last, so /healthz says 503 while draining
 */
import type { Config } from './config/schema.js';
import { Metrics } from './metrics/metrics.js';
import { Logger } from './log.js';
import { Pipeline, type Output } from './pipeline/pipeline.js';
import { Edge } from './ingest/edge.js';
import { HttpServer } from './api/http-server.js';
import { NdjsonOutput } from './sinks/ndjson/ndjson-output.js';
import { NullOutput } from './sinks/null/null-output.js';
import { Store, storeRoot } from './store/store.js';
import { QueryPool } from './query/query-pool.js';
import { QueryApi } from './api/query-api.js';
import { TailHub } from './query/tail-hub.js';
import { IngestApi } from './api/ingest-api.js';
import { CompatApi } from './api/compat-api.js';
import { Auth } from './api/auth.js';

export class RinglogServer {
  readonly metrics = new Metrics();
  readonly log: Logger;
  private pipeline: Pipeline | null = null;
  private edge: Edge | null = null;
  private http: HttpServer | null = null;
  private stopping: Promise<void> | null = null;
  private startFailed = false;
  private outputs: Output[] = [];
  private queryPool: QueryPool | null = null;
  private pressureTimer: NodeJS.Timeout | null = null;
  private ingest: IngestApi | null = null;
  private tailHub: TailHub | null = null;
  /** The embedded store, when enabled. */
  store: Store | null = null;
  /** Called when a part of the server fails for good (the store worker): the caller stops the process. */
  onFatal: ((err: Error) => void) | null = null;

  constructor(readonly config: Config, log?: Logger) {
    this.log = log ?? new Logger(config.log.level, config.log.format);
  }

  /** The store (unless disabled) and the extra outputs, as the startup line names them. */
  private outputSpecs(): string[] {
    return [...(this.config.store.enabled ? [`store:${storeRoot(this.config.dataDir)}`] : []), ...this.config.outputs];
  }

  /**
   * Where records are parsed: on the event loop when an output reads them there (the
   * NDJSON output), or when there is no store; else in the store worker, from the WAL
   * entries (docs/architecture.md, "Where records are parsed").
   */
  private parseHere = true;

  /** Opens the outputs into this.outputs, one by one (so a failure can close those already open). */
  private async openOutputs(): Promise<void> {
    const outputs = this.outputs;
    for (const spec of this.config.outputs) {
      if (spec === 'null') outputs.push(new NullOutput(this.metrics));
      else {
        const o = new NdjsonOutput(spec.slice('ndjson:'.length), this.config.ndjson.fsyncInterval, this.metrics, this.log);
        await o.open();
        outputs.push(o);
      }
    }
    this.parseHere = !this.config.store.enabled || outputs.some((o) => o.needsRecords === true);
    if (this.config.store.enabled) {
      const s = this.config.store;
      const store = new Store({
        dataDir: this.config.dataDir,
        fsync: s.fsync,
        fsyncIntervalMs: s.fsyncInterval,
        compressionLevel: s.compressionLevel,
        blockTarget: s.blockSize,
        commitBytes: s.commitSize,
        commitIntervalMs: s.commitInterval,
        retention: { maxAgeMs: s.retention.maxAge, maxBytes: s.retention.maxSize, checkIntervalMs: s.retention.checkInterval },
        maxPending: s.maxPending,
        walPrepare: s.walPrepare,
        walFileSize: s.walFileSize,
        sealThread: s.sealThread,
        parseThread: s.parseThread,
        // Parse counts come from whichever parser runs once per record: the worker's unless listeners parse too.
        countParse: !this.parseHere,
      }, this.metrics, this.log);
      store.onFatal((err) => this.onFatal?.(err));
      // First in the list: the pipeline writes to it first.
      outputs.unshift(store);
      await store.open();
      this.store = store;
    }
  }

  async start(): Promise<void> {
    try {
      await this.openOutputs();
    } catch (err) {
      // Whatever did open (the store and its lock) is closed again.
      for (const o of this.outputs) await o.close().catch(() => {});
      this.outputs = [];
      throw err;
    }
    const outputs = this.outputs;
    const pipeline = new Pipeline(this.config.pipeline, outputs, this.metrics, this.log);
    this.pipeline = pipeline;
    const edge = new Edge(this.config, pipeline, this.metrics, this.log);
    edge.parseHere = this.parseHere;
    this.edge = edge;
    try {
      await edge.start();
      if (this.config.http !== false) {
        const q = this.config.query;
        if (this.store !== null) {
          const pool = new QueryPool({ dataDir: this.config.dataDir, workers: q.workers, maxQueued: q.maxQueued, timeLimitMs: q.timeLimit }, this.log);
          this.queryPool = pool;
          // Pressure: the store worker has a backlog, or the pipeline is queueing. Checked every 50 ms.
          const store = this.store;
          const backlogLimit = this.config.store.maxPending / 8;
          const queueLimit = this.config.pipeline.lowWatermark / 4;
          this.pressureTimer = setInterval(() => pool.setPressure(store.backlogBytes > backlogLimit || pipeline.queuedBytes > queueLimit), 50);
          this.pressureTimer.unref();
          const t = this.config.tail;
          this.tailHub = new TailHub({ storeRoot: storeRoot(this.config.dataDir), maxSubscribers: t.maxSubscribers, bufferBytes: t.bufferSize, pollMs: t.pollInterval }, this.metrics, this.log);
        }
        const ingest = new IngestApi(pipeline, this.metrics, {
          maxBody: this.config.ingest.maxBody,
          maxItem: this.config.ingest.maxItem,
          bodyTimeoutMs: this.config.ingest.bodyTimeout,
          ackTimeoutMs: this.config.ingest.ackTimeout,
          parseHere: () => this.parseHere,
        });
        this.ingest = ingest;
        const http = new HttpServer({
          metricsText: () => {
            pipeline.observe();
            return this.metrics.text();
          },
          unhealthy: () => (this.stopping ? 'shutting down' : null),
          health: () => ({ listeners: edge.listeners, connections: edge.openConnections, queueBytes: pipeline.queuedBytes }),
          query: this.queryPool === null ? null : new QueryApi(this.queryPool, this.metrics, { maxQueryLength: q.maxLength, defaultLimit: q.defaultLimit, maxLimit: q.maxLimit }),
          tail: this.tailHub,
          ingest,
          compat: new CompatApi(ingest, this.metrics),
          maxQueryLength: q.maxLength,
          onError: (err) => this.log.error('HTTP request failed', { error: err.stack ?? err.message }),
          auth: new Auth(this.config.http.tokens),
          tls: this.config.http.tls,
        });
        this.http = http;
        await http.listen(this.config.http.address);
        this.log.info('listening', { listener: 'http', transport: this.config.http.tls ? 'https' : 'http', address: http.address, auth: this.config.http.tokens.length > 0 ? 'tokens' : 'open' });
      }
    } catch (err) {
      this.startFailed = true;
      await this.stop();
      throw err;
    }
    if (!this.config.store.enabled && this.config.outputs.length === 0) {
      this.log.warn('no output: the store is off (--no-store) and no --output is given, so records are received and discarded');
    }
    this.log.info('ringlog started', { outputs: this.outputSpecs().join(','), data_dir: this.config.dataDir });
  }

  /** Bytes received and not yet written by every output: the pipeline's queue and what the store has not acknowledged. */
  get queuedBytes(): number {
    return (this.pipeline?.queuedBytes ?? 0) + (this.store?.unackedBytes ?? 0);
  }

  /** Reopens file outputs at their paths (SIGHUP, after log rotation). */
  async reopenOutputs(): Promise<void> {
    for (const o of this.outputs) if (o instanceof NdjsonOutput) await o.reopen();
  }

  get listeners() {
    return this.edge?.listeners ?? [];
  }

  get httpAddress(): string {
    return this.http?.address ?? '';
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const t0 = Date.now();
    if (!this.startFailed) this.log.info('shutting down: no new connections; draining', { grace_ms: this.config.limits.shutdownGrace });
    // HTTP ingest requests being read finish first (answered once durable); new ones get 503.
    await this.ingest?.drain(this.config.limits.shutdownGrace);
    // Queries and live tails end first: they only read, and their clients reconnect elsewhere.
    this.tailHub?.close();
    if (this.pressureTimer) clearInterval(this.pressureTimer);
    await this.queryPool?.close();
    await this.edge?.stop(this.config.limits.shutdownGrace);
    const pipeline = this.pipeline;
    // An output that cannot write (disk full…) holds shutdown: the records are still only in memory. Say so.
    const waiting = setInterval(() => {
      if (this.queuedBytes > 0) {
        this.log.warn('shutdown waiting for outputs to write queued records; a second signal exits without them', { queued_bytes: this.queuedBytes });
      }
    }, 5_000);
    waiting.unref();
    try {
      await pipeline?.close();
    } finally {
      clearInterval(waiting);
    }
    await this.http?.close();
    this.log.info('shutdown complete', { ms: Date.now() - t0 });
  }
}
