/**
 * `POST /api/v1/ingest` (docs/ingest.md, "ringlog's own API"): NDJSON, a JSON array
 * of objects, or text lines, optionally compressed (gzip, deflate, zstd), answered
 * once every record of the request is durable (the store's ack point).
 *
 *   request body ─► decompress ─► IngestBodySplitter ─► frames ─► FrameBatch per chunk
 *        ▲                                                              │ pipeline.push()
 *        └── paused while the pipeline is over its high watermark ◄─────┘ false
 *   end of body ─► every batch's ack() ─► 200 {"accepted":N,"rejected":[…]}
 *
 * The body is read as it arrives, with bounded memory: one chunk, the splitter's
 * current item (at most `maxItem`), and the batches in the pipeline, which its
 * watermarks bound for all senders together. A request that arrives while the
 * pipeline is over its high watermark is answered 429 with Retry-After at once.
 *
 * Partial failure: items the splitter rejects (longer than maxItem, a JSON array
 * element that is not an object) are listed in `rejected` and the rest is stored.
 * A body that stops being valid mid-way (a broken JSON array, bad compression, over
 * the size limit, too slow) ends the request with an error status; the records of
 * the items before that point are stored, and the answer says how many.
 */
import type http from 'node:http';
import zlib from 'node:zlib';
import { DecompressStream } from 'zstd-napi';
import type { Transform } from 'node:stream';
import type { Pipeline } from '../pipeline/pipeline.js';
import { nowMs, type FrameBatch } from '../pipeline/batch.js';
import { ParseStage } from '../protocols/formats/parse-stage.js';
import type { FormatName } from '../protocols/formats/format.js';
import { FORMATS } from '../protocols/formats/format.js';
import { IngestBodySplitter, type BodyKind } from '../protocols/ingest/body-splitter.js';
import { IngestDecodeError } from '../protocols/ingest/types.js';
import type { Metrics } from '../metrics/metrics.js';
import { sendError } from './query-api.js';

export interface IngestOptions {
  /** Largest body, after decompression too (413 past it). */
  maxBody: number;
  /** Largest item (line or array element); longer ones are rejected alone. */
  maxItem: number;
  /** A body that sends nothing for this long is cut off (408). */
  bodyTimeoutMs: number;
  /** How long to wait for the records to become durable before answering 503. */
  ackTimeoutMs: number;
  /** Parse on the event loop (an output reads records there), else the store worker parses. */
  parseHere: () => boolean;
}

/** Frames per batch handed to the pipeline by store(). */
const STORE_BATCH = 8192;

interface Outcome {
  status: number;
  code?: string;
  message?: string;
  reason?: string;
}

export class IngestApi {
  private stages = new Map<FormatName, ParseStage>();

  constructor(private readonly pipeline: Pipeline, private readonly metrics: Metrics, private readonly opts: IngestOptions) {}

  /** True while new requests should be refused (the pipeline is over its high watermark). */
  get overloaded(): boolean {
    return this.pipeline.paused;
  }

  get limits(): { maxBody: number; maxItem: number; bodyTimeoutMs: number } {
    return { maxBody: this.opts.maxBody, maxItem: this.opts.maxItem, bodyTimeoutMs: this.opts.bodyTimeoutMs };
  }

  /**
   * Hands frames (one record each, parsed with `format`) to the pipeline in batches
   * and resolves once they are all durable: true, or false when not within
   * ackTimeout (the store is stalled; they may be stored later).
   */
  async store(frames: Buffer[], source: FrameBatch['source'], format: FormatName, endpoint: string): Promise<boolean> {
    const acks: Promise<void>[] = [];
    for (let i = 0; i < frames.length; i += STORE_BATCH) {
      const batch = frameBatch(frames.slice(i, i + STORE_BATCH), source);
      acks.push(new Promise<void>((resolve) => (batch.ack = resolve)));
      this.pipeline.push(this.opts.parseHere() ? this.stage(format).parse(batch) : Object.assign(batch, { format }));
    }
    this.metrics.ingestRecords.inc({ endpoint }, frames.length);
    return waitAll(acks, this.opts.ackTimeoutMs);
  }

  private stage(format: FormatName): ParseStage {
    let st = this.stages.get(format);
    if (st === undefined) this.stages.set(format, (st = new ParseStage(format)));
    return st;
  }

  private inflight = 0;
  private closing = false;
  private drainWaiters: (() => void)[] = [];

  /**
   * Shutdown, before the pipeline closes: new ingest requests are answered 503 with
   * Retry-After, and the ones being read finish (their records made durable and
   * answered) within `graceMs`; after that they are cut when the HTTP port closes.
   */
  async drain(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.inflight === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, graceMs);
      t.unref();
      this.drainWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Runs one ingest request (this endpoint's or a shipper's): counted for drain(), refused while shutting down. */
  async track(res: http.ServerResponse, req: http.IncomingMessage, run: () => Promise<void>): Promise<void> {
    if (this.closing) {
      req.resume();
      sendError(res, 503, 'RL_INGEST_OVERLOADED', 'the server is shutting down; send to another one or retry later', {}, { 'retry-after': '5', connection: 'close' });
      return;
    }
    this.inflight++;
    try {
      await run();
    } finally {
      if (--this.inflight === 0) for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  async handle(url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const endpoint = 'ingest';
    let status = 200;
    try {
      await this.track(res, req, async () => {
        status = await this.ingest(url, req, res);
      });
    } finally {
      this.metrics.ingestRequests.inc({ endpoint, status: String(status) });
      this.metrics.ingestDuration.observe({ endpoint }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private async ingest(url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<number> {
    const fail = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
      // The rest of the body is not read: close the connection rather than drain it.
      sendError(res, status, code, message, extra, { connection: 'close', ...headers });
      req.resume();
      return status;
    };
    if (this.pipeline.paused) {
      return fail(429, 'RL_INGEST_OVERLOADED', 'the server is over its queue watermark; retry later', {}, { 'retry-after': '1' });
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > this.opts.maxBody) return fail(413, 'RL_INGEST_TOO_LARGE', `the body is ${declared} bytes; at most ${this.opts.maxBody} are accepted (ingest.maxBody)`);

    const kind = bodyKind(req.headers['content-type'], url.searchParams.get('kind'));
    if (kind === null) return fail(415, 'RL_INGEST_UNSUPPORTED', `content type ${req.headers['content-type']} is not accepted; send application/x-ndjson, application/json or text/plain`);
    const formatParam = url.searchParams.get('format');
    if (formatParam !== null && !(FORMATS as readonly string[]).includes(formatParam)) {
      return fail(400, 'RL_INGEST_INVALID', `format: "${formatParam}" is not one of ${FORMATS.join(', ')}`);
    }
    // JSON bodies are parsed as JSON (a line that is not becomes a raw record); text as its listener's auto-detection would.
    const format = (formatParam as FormatName | null) ?? (kind === 'text' ? 'auto' : 'json');
    let decoder: Transform | null;
    try {
      decoder = decompressor(req.headers['content-encoding']);
    } catch (err) {
      return fail(415, 'RL_INGEST_UNSUPPORTED', (err as Error).message);
    }

    const splitter = new IngestBodySplitter(kind, this.opts.maxItem);
    const source = { listener: 'http', transport: 'http' as const, peer: peerOf(req) };
    const acks: Promise<void>[] = [];
    const rejected: { index: number; reason: string }[] = [];
    let accepted = 0;
    let rawBytes = 0;
    let bodyBytes = 0;

    const submit = (frames: Buffer[]): boolean => {
      if (frames.length === 0) return true;
      const batch = frameBatch(frames, source);
      accepted += frames.length;
      acks.push(new Promise<void>((resolve) => (batch.ack = resolve)));
      const b = this.opts.parseHere() ? this.stage(format).parse(batch) : Object.assign(batch, { format });
      return this.pipeline.push(b);
    };

    const input = decoder ?? req;
    if (decoder !== null) req.pipe(decoder);
    const outcome = await new Promise<Outcome>((resolve) => {
      let done = false;
      const finish = (o: Outcome) => {
        if (done) return;
        done = true;
        clearTimeout(idle);
        this.pipeline.off('resume', onResume);
        input.off('data', onData);
        if (decoder !== null) req.unpipe(decoder);
        resolve(o);
      };
      let idle: NodeJS.Timeout;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => finish({ status: 408, code: 'RL_INGEST_TIMEOUT', message: `the body sent nothing for ${this.opts.bodyTimeoutMs} ms` }), this.opts.bodyTimeoutMs);
      };
      arm();
      const onResume = () => input.resume();
      this.pipeline.on('resume', onResume);
      req.on('data', (c: Buffer) => {
        rawBytes += c.length;
        if (rawBytes > this.opts.maxBody) finish({ status: 413, code: 'RL_INGEST_TOO_LARGE', message: `the body is over ${this.opts.maxBody} bytes (ingest.maxBody)` });
      });
      const onData = (chunk: Buffer) => {
        arm();
        bodyBytes += chunk.length;
        if (bodyBytes > this.opts.maxBody) {
          finish({ status: 413, code: 'RL_INGEST_TOO_LARGE', message: `the body decompresses to over ${this.opts.maxBody} bytes (ingest.maxBody)` });
          return;
        }
        try {
          const r = splitter.push(chunk);
          for (const x of r.rejected) rejected.push(x);
          if (!submit(r.frames)) input.pause();
        } catch (err) {
          finish(decodeFailure(err));
        }
      };
      input.on('data', onData);
      input.on('end', () => {
        try {
          const r = splitter.end();
          for (const x of r.rejected) rejected.push(x);
          submit(r.frames);
          finish({ status: 200 });
        } catch (err) {
          finish(decodeFailure(err));
        }
      });
      input.on('error', (err) => finish({ status: 400, code: 'RL_INGEST_INVALID', reason: 'bad_encoding', message: `the body could not be decompressed: ${err.message}` }));
      req.on('aborted', () => finish({ status: 499, code: 'RL_INGEST_INVALID', message: 'the client went away' }));
      req.on('error', () => finish({ status: 499, code: 'RL_INGEST_INVALID', message: 'the client went away' }));
    });

    this.metrics.ingestBytes.inc({ endpoint: 'ingest' }, rawBytes);
    for (const r of rejected) this.metrics.ingestRejected.inc({ endpoint: 'ingest', reason: r.reason });
    // Whatever was handed on is answered for once it is durable (or not in time).
    const durable = await waitAll(acks, this.opts.ackTimeoutMs);
    this.metrics.ingestRecords.inc({ endpoint: 'ingest' }, accepted);
    if (outcome.status === 499) return 499;
    const counts = { accepted, rejected: rejected.slice(0, 1000), rejectedCount: rejected.length };
    if (!durable) {
      return fail(503, 'RL_INGEST_NOT_DURABLE', `the records were not durable within ${this.opts.ackTimeoutMs} ms (the store is stalled: disk full?); they may still be stored, so a retry can store them twice`, counts, { 'retry-after': '5' });
    }
    if (outcome.status !== 200) return fail(outcome.status, outcome.code!, outcome.message!, { ...(outcome.reason ? { reason: outcome.reason } : {}), ...counts });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts) + '\n');
    return 200;
  }
}

/** A whole request body, read and decompressed within the limits; or why not. */
export type BodyRead = { ok: true; body: Buffer; rawBytes: number } | { ok: false; status: number; code: string; message: string; reason?: string };

/**
 * Reads a request body whole, decompressed (Content-Encoding), for the shippers'
 * endpoints whose formats are decoded in one piece (Loki, OTLP, bulk, HEC): memory
 * is bounded by maxBody per request, as sent and decompressed; a body that stalls
 * for bodyTimeoutMs fails with 408.
 */
export function readBody(req: http.IncomingMessage, maxBody: number, bodyTimeoutMs: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBody) {
    req.resume();
    return Promise.resolve({ ok: false, status: 413, code: 'RL_INGEST_TOO_LARGE', message: `the body is ${declared} bytes; at most ${maxBody} are accepted (ingest.maxBody)` });
  }
  let decoder: Transform | null;
  try {
    decoder = decompressor(req.headers['content-encoding']);
  } catch (err) {
    req.resume();
    return Promise.resolve({ ok: false, status: 415, code: 'RL_INGEST_UNSUPPORTED', message: (err as Error).message });
  }
  const input = decoder ?? req;
  if (decoder !== null) req.pipe(decoder);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let rawBytes = 0;
    let done = false;
    let idle: NodeJS.Timeout;
    const finish = (r: BodyRead) => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      if (decoder !== null) req.unpipe(decoder);
      input.removeAllListeners('data');
      if (!r.ok) req.resume();
      resolve(r);
    };
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish({ ok: false, status: 408, code: 'RL_INGEST_TIMEOUT', message: `the body sent nothing for ${bodyTimeoutMs} ms` }), bodyTimeoutMs);
    };
    arm();
    req.on('data', (c: Buffer) => {
      rawBytes += c.length;
      if (rawBytes > maxBody) finish({ ok: false, status: 413, code: 'RL_INGEST_TOO_LARGE', message: `the body is over ${maxBody} bytes (ingest.maxBody)` });
    });
    input.on('data', (c: Buffer) => {
      arm();
      size += c.length;
      if (size > maxBody) finish({ ok: false, status: 413, code: 'RL_INGEST_TOO_LARGE', message: `the body decompresses to over ${maxBody} bytes (ingest.maxBody)` });
      else chunks.push(c);
    });
    input.on('end', () => finish({ ok: true, body: Buffer.concat(chunks, size), rawBytes }));
    input.on('error', (err) => finish({ ok: false, status: 400, code: 'RL_INGEST_INVALID', reason: 'bad_encoding', message: `the body could not be decompressed: ${err.message}` }));
    req.on('aborted', () => finish({ ok: false, status: 499, code: 'RL_INGEST_INVALID', message: 'the client went away' }));
    req.on('error', () => finish({ ok: false, status: 499, code: 'RL_INGEST_INVALID', message: 'the client went away' }));
  });
}

function decodeFailure(err: unknown): Outcome {
  if (err instanceof IngestDecodeError) return { status: 400, code: 'RL_INGEST_INVALID', reason: err.reason, message: err.message };
  throw err;
}

/** What the body holds, from Content-Type (or `?kind=`); null when it is not something this endpoint reads. */
function bodyKind(contentType: string | undefined, param: string | null): BodyKind | null {
  if (param === 'ndjson' || param === 'json-array' || param === 'text' || param === 'auto') return param;
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === '' || ct === 'application/json' || ct === 'application/octet-stream') return 'auto';
  if (ct === 'application/x-ndjson' || ct === 'application/ndjson' || ct === 'application/jsonl' || ct === 'application/x-jsonlines') return 'ndjson';
  if (ct === 'text/plain') return 'text';
  return null;
}

function decompressor(encoding: string | string[] | undefined): Transform | null {
  const e = (Array.isArray(encoding) ? encoding.join(',') : encoding ?? 'identity').trim().toLowerCase();
  switch (e) {
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      // Senders mean zlib-wrapped deflate (RFC 9110); some send raw deflate: unzip handles the former, inflateRaw the latter.
      return zlib.createUnzip();
    case 'zstd':
      return new DecompressStream() as unknown as Transform;
    default:
      throw new Error(`content encoding ${e} is not accepted; send gzip, deflate, zstd or none`);
  }
}

export function peerOf(req: http.IncomingMessage): string {
  const s = req.socket;
  if (s.remoteAddress === undefined) return '';
  return s.remoteFamily === 'IPv6' ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`;
}

/** The frames copied into one buffer (the chunk they came from is not kept alive). */
function frameBatch(frames: Buffer[], source: FrameBatch['source']): FrameBatch {
  let size = 0;
  for (const f of frames) size += f.length;
  const buf = Buffer.allocUnsafe(size);
  const offsets = new Uint32Array(2 * frames.length);
  let at = 0;
  frames.forEach((f, i) => {
    f.copy(buf, at);
    offsets[2 * i] = at;
    at += f.length;
    offsets[2 * i + 1] = at;
  });
  return { buf, offsets, flags: null, count: frames.length, bytes: size, retained: size + offsets.byteLength, received: nowMs(), source, peers: null, hold: null };
}

async function waitAll(acks: Promise<void>[], timeoutMs: number): Promise<boolean> {
  if (acks.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
  try {
    return await Promise.race([Promise.all(acks).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
