/**
 * `POST /api/v1/ingest` (docs/ingest.md, "ringlog's own API"): NDJSON, a JSON array
 * of objects, or text lines, optionally compressed (gzip, deflate, zstd), answered
 * once every record of the request is durable (the store's ack point).
 *
 *   request body ─► decompress ─► IngestBodySplitter ─► BatchBuilder ─► FrameBatch per chunk
 *        ▲                                                              │ pipeline.push()
 *        └── paused while the pipeline is over its high watermark ◄─────┘ false
 *   end of body ─► every batch's ack() ─► 200 {"accepted":N,"rejected":[…]}
 *
 * The body is read as it arrives, with bounded memory: one chunk, the splitter's
 * current item (at most `maxItem`), and the batches in the pipeline, which its
 * watermarks bound for all senders together. A batch's frames are views of the chunk
 * they came in (offsets in the shared pool, as for socket reads): no copy and no
 * object per line; the store copies them into its WAL entry. A request that arrives
 * while the pipeline is over its high watermark is answered 429 with Retry-After at
 * once.
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
import type { Readable, Transform } from 'node:stream';
import type { Pipeline } from '../pipeline/pipeline.js';
import { BatchBuilder, nowMs, type FrameBatch } from '../pipeline/batch.js';
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
    for (let i = 0; i < frames.length; i += STORE_BATCH) acks.push(this.hand(frames.slice(i, i + STORE_BATCH), source, format).durable);
    this.metrics.ingestRecords.inc({ endpoint }, frames.length);
    return waitAll(acks, this.opts.ackTimeoutMs);
  }

  /**
   * The frames, copied into one batch, to the pipeline (parsed here when an output
   * reads records on the event loop). `durable` resolves at the batch's ack; `more`
   * is false when the pipeline is over its high watermark.
   */
  private hand(frames: Buffer[], source: FrameBatch['source'], format: FormatName): { durable: Promise<void>; more: boolean } {
    return this.handBatch(frameBatch(frames, source), format);
  }

  private handBatch(batch: FrameBatch, format: FormatName): { durable: Promise<void>; more: boolean } {
    const durable = new Promise<void>((resolve) => (batch.ack = resolve));
    const more = this.pipeline.push(this.opts.parseHere() ? this.stage(format).parse(batch) : Object.assign(batch, { format }));
    return { durable, more };
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
    const tooLarge = declaredTooLarge(req, this.opts.maxBody);
    if (tooLarge !== null) return fail(tooLarge.status, tooLarge.code, tooLarge.message);

    const kind = bodyKind(req.headers['content-type'], url.searchParams.get('kind'));
    if (kind === null) return fail(415, 'RL_INGEST_UNSUPPORTED', `content type ${req.headers['content-type']} is not accepted; send application/x-ndjson, application/json or text/plain`);
    const formatParam = url.searchParams.get('format');
    if (formatParam !== null && !(FORMATS as readonly string[]).includes(formatParam)) {
      return fail(400, 'RL_INGEST_INVALID', `format: "${formatParam}" is not one of ${FORMATS.join(', ')}`);
    }
    // JSON bodies are parsed as JSON (a line that is not becomes a raw record); text as its listener's auto-detection would.
    const format = (formatParam as FormatName | null) ?? (kind === 'text' ? 'auto' : 'json');
    const opened = openDecoder(req);
    if ('ok' in opened) return fail(opened.status, opened.code, opened.message);
    const source = { listener: 'http', transport: 'http' as const, peer: peerOf(req) };
    const acks: Promise<void>[] = [];
    const rejected: { index: number; reason: string }[] = [];
    let accepted = 0;
    let more = true;
    const batches = new BatchBuilder(source, (batch) => {
      accepted += batch.count;
      const h = this.handBatch(batch, format);
      acks.push(h.durable);
      if (!h.more) more = false;
    });
    const splitter = new IngestBodySplitter(kind, this.opts.maxItem, batches.emit);

    /** The frames the splitter found in one chunk (or at the end) to the pipeline: false when it is over its watermark. */
    const take = (split: () => { rejected: { index: number; reason: string }[] }): boolean => {
      more = true;
      batches.stamp(nowMs());
      try {
        for (const x of split().rejected) rejected.push(x);
      } finally {
        // Also the frames found before an error.
        batches.flush();
      }
      return more;
    };
    const body = pumpBody(req, opened.decoder, this.opts.maxBody, this.opts.bodyTimeoutMs, {
      data: (chunk) => {
        try {
          if (!take(() => splitter.push(chunk))) body.input.pause();
        } catch (err) {
          return decodeFailure(err);
        }
      },
      end: () => {
        try {
          take(() => splitter.end());
        } catch (err) {
          return decodeFailure(err);
        }
      },
    });
    const onResume = () => body.input.resume();
    this.pipeline.on('resume', onResume);
    const { result: outcome, rawBytes } = await body.done;
    this.pipeline.off('resume', onResume);

    this.metrics.ingestBytes.inc({ endpoint: 'ingest' }, rawBytes);
    for (const r of rejected) this.metrics.ingestRejected.inc({ endpoint: 'ingest', reason: r.reason });
    // Whatever was handed on is answered for once it is durable (or not in time).
    const durable = await waitAll(acks, this.opts.ackTimeoutMs);
    this.metrics.ingestRecords.inc({ endpoint: 'ingest' }, accepted);
    if (!outcome.ok && outcome.status === 499) return 499;
    const counts = { accepted, rejected: rejected.slice(0, 1000), rejectedCount: rejected.length };
    if (!durable) {
      return fail(503, 'RL_INGEST_NOT_DURABLE', `the records were not durable within ${this.opts.ackTimeoutMs} ms (the store is stalled: disk full?); they may still be stored, so a retry can store them twice`, counts, { 'retry-after': '5' });
    }
    if (!outcome.ok) return fail(outcome.status, outcome.code, outcome.message, { ...(outcome.reason ? { reason: outcome.reason } : {}), ...counts });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts) + '\n');
    return 200;
  }
}

/** Why a body was not (wholly) taken: the status and error code to answer with. */
export type BodyFail = { ok: false; status: number; code: string; message: string; reason?: string };

/** A whole request body, read and decompressed within the limits; or why not. */
export type BodyRead = { ok: true; body: Buffer; rawBytes: number } | BodyFail;

/** A body whose Content-Length is over maxBody is refused before it is read. */
function declaredTooLarge(req: http.IncomingMessage, maxBody: number): BodyFail | null {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (!(declared > maxBody)) return null;
  return { ok: false, status: 413, code: 'RL_INGEST_TOO_LARGE', message: `the body is ${declared} bytes; at most ${maxBody} are accepted (ingest.maxBody)` };
}

/** The decompressor for the request's Content-Encoding (null: none), or 415. */
function openDecoder(req: http.IncomingMessage): { decoder: Transform | null } | BodyFail {
  try {
    return { decoder: decompressor(req.headers['content-encoding']) };
  } catch (err) {
    return { ok: false, status: 415, code: 'RL_INGEST_UNSUPPORTED', message: (err as Error).message };
  }
}

interface BodyHandlers {
  /** A decompressed chunk; a failure ends the body there. */
  data(chunk: Buffer): BodyFail | void;
  /** The body is complete; a failure makes it one. */
  end(): BodyFail | void;
}

/**
 * Feeds a request body to `h` as it arrives, through its decoder, within the
 * limits: at most maxBody bytes as sent and decompressed (413), no silence longer
 * than bodyTimeoutMs (408); a decoder error is 400 `bad_encoding`, a client that goes
 * away 499. `input` is what to pause and resume for backpressure. `done` resolves
 * once, with the outcome and the bytes read as sent.
 */
function pumpBody(req: http.IncomingMessage, decoder: Transform | null, maxBody: number, bodyTimeoutMs: number, h: BodyHandlers): { input: Readable; done: Promise<{ result: { ok: true } | BodyFail; rawBytes: number }> } {
  const input: Readable = decoder ?? req;
  if (decoder !== null) req.pipe(decoder);
  const done = new Promise<{ result: { ok: true } | BodyFail; rawBytes: number }>((resolve) => {
    let size = 0;
    let rawBytes = 0;
    let over = false;
    let idle: NodeJS.Timeout;
    const finish = (result: { ok: true } | BodyFail | void) => {
      if (over) return;
      over = true;
      clearTimeout(idle);
      if (decoder !== null) req.unpipe(decoder);
      input.off('data', onData);
      resolve({ result: result ?? { ok: true }, rawBytes });
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
    const onData = (chunk: Buffer) => {
      arm();
      size += chunk.length;
      if (size > maxBody) finish({ ok: false, status: 413, code: 'RL_INGEST_TOO_LARGE', message: `the body decompresses to over ${maxBody} bytes (ingest.maxBody)` });
      else {
        const f = h.data(chunk);
        if (f) finish(f);
      }
    };
    input.on('data', onData);
    input.on('end', () => finish(h.end() ?? { ok: true }));
    input.on('error', (err) => finish({ ok: false, status: 400, code: 'RL_INGEST_INVALID', reason: 'bad_encoding', message: `the body could not be decompressed: ${err.message}` }));
    req.on('aborted', () => finish({ ok: false, status: 499, code: 'RL_INGEST_INVALID', message: 'the client went away' }));
    req.on('error', () => finish({ ok: false, status: 499, code: 'RL_INGEST_INVALID', message: 'the client went away' }));
  });
  return { input, done };
}

/**
 * Reads a request body whole, decompressed (Content-Encoding), for the shippers'
 * endpoints whose formats are decoded in one piece (Loki, OTLP, bulk, HEC): memory
 * is bounded by maxBody per request, as sent and decompressed; a body that stalls
 * for bodyTimeoutMs fails with 408.
 */
export async function readBody(req: http.IncomingMessage, maxBody: number, bodyTimeoutMs: number): Promise<BodyRead> {
  const early = declaredTooLarge(req, maxBody) ?? openDecoder(req);
  if ('ok' in early) {
    req.resume();
    return early;
  }
  const chunks: Buffer[] = [];
  const { result, rawBytes } = await pumpBody(req, early.decoder, maxBody, bodyTimeoutMs, { data: (c) => void chunks.push(c), end: () => {} }).done;
  if (!result.ok) {
    req.resume();
    return result;
  }
  return { ok: true, body: Buffer.concat(chunks), rawBytes };
}

function decodeFailure(err: unknown): BodyFail {
  if (err instanceof IngestDecodeError) return { ok: false, status: 400, code: 'RL_INGEST_INVALID', reason: err.reason, message: err.message };
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
    buf.set(f, at);
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
