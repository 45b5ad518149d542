/**
 * What every listener shares: its resolved options, its metric children (looked up
 * once, not per chunk), the framer options, and how framing events are counted and
 * logged with the peer that caused them.
 */
import type { Counter, Gauge } from 'prom-client';
import type { Config, ListenerConfig } from '../config/schema.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { FramerOptions, FramingEventKind } from '../protocols/framing/framer.js';
import type { FrameBatch, Transport } from '../pipeline/batch.js';
import type { FormatName } from '../protocols/formats/format.js';
import { ParseStage } from '../protocols/formats/parse-stage.js';
import type { MultilineOptions } from '../protocols/multiline.js';

export interface ResolvedListener {
  name: string;
  transport: Transport;
  maxFrame: number;
  onOversize: 'truncate' | 'drop';
  framing: 'auto' | 'lf' | 'octet';
  nulDelimiter: boolean;
  idleTimeout: number;
  maxConnections: number;
  /** How frames become records (docs/record.md): auto-detected per frame, or forced. */
  format: FormatName;
  /** Limits of GELF datagram decoding (datagram listeners with format gelf or auto). */
  gelf: Config['gelf'];
  /** Joining continuation lines into one record (stream listeners), or null. */
  multiline: MultilineOptions | null;
  config: ListenerConfig;
}

/** `name` comes from listenerNames() in the config schema. */
export function resolveListener(cfg: Config, l: ListenerConfig, name: string): ResolvedListener {
  const stream = l.type === 'tcp' || l.type === 'tls' || l.type === 'unix';
  return {
    name,
    transport: l.type,
    maxFrame: l.maxFrame ?? cfg.limits.maxFrame,
    onOversize: l.onOversize ?? cfg.limits.onOversize,
    framing: ('framing' in l ? l.framing : undefined) ?? cfg.framing.mode,
    nulDelimiter: ('nulDelimiter' in l ? l.nulDelimiter : undefined) ?? cfg.framing.nulDelimiter,
    idleTimeout: stream && 'idleTimeout' in l && l.idleTimeout !== undefined ? l.idleTimeout : cfg.limits.idleTimeout,
    maxConnections: stream && 'maxConnections' in l && l.maxConnections !== undefined ? l.maxConnections : cfg.limits.maxConnections,
    format: l.format ?? cfg.parsing.format,
    gelf: cfg.gelf,
    multiline: 'multiline' in l && l.multiline
      ? {
          mode: l.multiline.mode,
          ...(l.multiline.pattern !== undefined ? { pattern: new RegExp(l.multiline.pattern) } : {}),
          maxLines: l.multiline.maxLines,
          maxBytes: l.multiline.maxBytes ?? l.maxFrame ?? cfg.limits.maxFrame,
          timeoutMs: l.multiline.timeout,
        }
      : null,
    config: l,
  };
}

export class ListenerContext {
  /** Bytes read and frames handed on since the last scrape: plain numbers on the hot path. */
  bytesIn = 0;
  framesIn = 0;
  private readonly bytes: Counter.Internal;
  private readonly frames: Counter.Internal;
  readonly open: Gauge.Internal<'listener'>;
  readonly accepted: Counter.Internal;
  private readonly warnings: RateLimitedLog;
  /** Frames → records for every connection and socket of this listener. */
  readonly stage: ParseStage;

  /** Whether listeners parse on the event loop (some output needs records there) — see prepare(). */
  parseHere = true;

  constructor(
    readonly opts: ResolvedListener,
    readonly pipeline: Pipeline,
    readonly metrics: Metrics,
    readonly log: Logger,
  ) {
    const l = { listener: opts.name };
    this.bytes = metrics.receivedBytes.labels(l);
    this.frames = metrics.receivedFrames.labels(l);
    this.open = metrics.connectionsOpen.labels(l);
    this.accepted = metrics.connectionsAccepted.labels(l);
    // Zero-valued series exist from the start, so dashboards and tests see them.
    this.bytes.inc(0);
    this.frames.inc(0);
    metrics.framesTruncated.labels(l).inc(0);
    if (opts.transport !== 'udp' && opts.transport !== 'unix-dgram') {
      this.open.set(0);
      this.accepted.inc(0);
    }
    this.warnings = new RateLimitedLog(log);
    this.stage = new ParseStage(opts.format);
    this.stage.onInternalError = (err) =>
      this.warnings.warn(`parser:${opts.name}`, 'parser failed on a frame (a bug: please report it); the frame is kept as a raw record', {
        listener: opts.name, error: (err as Error)?.stack ?? String(err),
      });
    metrics.parseErrors.labels({ listener: opts.name, reason: 'internal_error' }).inc(0);
    metrics.onCollect(() => this.flushCounters());
  }

  /** Queues a batch read from a stream (parsed if needed); false means "pause the socket". */
  push(batch: FrameBatch): boolean {
    this.framesIn += batch.count;
    return this.pipeline.push(this.prepare(batch));
  }

  /** Queues a batch of datagrams unless the pipeline is full; false means they were not taken. */
  offer(batch: FrameBatch): boolean {
    if (this.pipeline.paused) return false;
    this.framesIn += batch.count;
    return this.pipeline.offer(this.prepare(batch));
  }

  /**
   * Parsed here when an output reads records on the event loop (`parseHere`); else the
   * frames go on with their format, and the store worker parses them (docs/architecture.md).
   */
  private prepare(batch: FrameBatch): FrameBatch {
    if (this.parseHere) return this.stage.parse(batch);
    batch.format = this.stage.format;
    return batch;
  }

  flushCounters(): void {
    const { formats, errors, timestampsReplaced } = this.stage.take();
    const listener = this.opts.name;
    for (const [format, n] of formats) this.metrics.recordsParsed.inc({ listener, format }, n);
    for (const [reason, n] of errors) this.metrics.parseErrors.inc({ listener, reason }, n);
    if (timestampsReplaced > 0) this.metrics.timestampsReplaced.inc({ listener }, timestampsReplaced);
    if (this.bytesIn > 0) this.bytes.inc(this.bytesIn);
    if (this.framesIn > 0) this.frames.inc(this.framesIn);
    this.bytesIn = 0;
    this.framesIn = 0;
  }

  /** Framer options for one connection or datagram socket; events name the peer. */
  framerOptions(peer: () => string): FramerOptions {
    return {
      mode: this.opts.framing,
      maxFrame: this.opts.maxFrame,
      onOversize: this.opts.onOversize,
      nulDelimiter: this.opts.nulDelimiter,
      onEvent: (kind, frameBytes) => this.framingEvent(kind, frameBytes, peer()),
    };
  }

  framingEvent(kind: FramingEventKind, frameBytes: number, peer: string): void {
    const listener = this.opts.name;
    switch (kind) {
      case 'truncated':
        this.metrics.framesTruncated.inc({ listener });
        this.warnings.warn(`truncated:${listener}`, 'frame longer than max-frame truncated', {
          listener, peer, frame_bytes: frameBytes, max_frame: this.opts.maxFrame,
        });
        break;
      case 'oversize_dropped':
        this.metrics.dropped.inc({ listener, reason: 'oversize' });
        this.warnings.warn(`oversize:${listener}`, 'frame longer than max-frame dropped', {
          listener, peer, frame_bytes: frameBytes, max_frame: this.opts.maxFrame,
        });
        break;
      case 'bad_octet_count':
        this.metrics.framingErrors.inc({ listener, reason: kind });
        this.warnings.warn(`octet:${listener}`, 'invalid octet count; frame read up to the next LF instead', { listener, peer });
        break;
    }
  }

  gelfDropped(reason: string, peer: string, error?: string): void {
    this.metrics.gelfDropped.inc({ listener: this.opts.name, reason });
    this.warnings.warn(`gelf:${this.opts.name}:${reason}`, 'GELF datagram dropped', { listener: this.opts.name, reason, peer, error });
  }

  refused(reason: string, peer: string, detail?: string): void {
    this.metrics.connectionsRefused.inc({ listener: this.opts.name, reason });
    this.warnings.warn(`refused:${this.opts.name}:${reason}`, 'connection refused', {
      listener: this.opts.name, reason, peer, detail,
    });
  }

  closed(reason: string): void {
    this.metrics.connectionsClosed.inc({ listener: this.opts.name, reason });
  }

  dropped(reason: string, n: number): void {
    this.metrics.dropped.inc({ listener: this.opts.name, reason }, n);
    this.warnings.warn(`drop:${this.opts.name}:${reason}`, 'datagrams dropped', { listener: this.opts.name, reason, count: n });
  }
}
