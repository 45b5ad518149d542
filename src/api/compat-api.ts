/**
 * The endpoints existing log shippers speak (docs/ingest.md, docs/ingest-compat.md):
 *
 *   POST /loki/api/v1/push                       Loki push: JSON, protobuf+snappy → 204
 *   POST /v1/logs                                OTLP/HTTP logs: protobuf, JSON → ExportLogsServiceResponse
 *   POST /_bulk, /{index}/_bulk                  Elasticsearch bulk → per-item response
 *   POST /{index}/_doc, PUT|POST /{index}/_doc/{id}, /{index}/_create/{id}
 *                                                Elasticsearch single-document index API → 201
 *   GET|HEAD|PUT …                               the Elasticsearch start-up probes (GET /, /_license, templates…)
 *   POST /services/collector[/event], …/raw      Splunk HEC → {"text":"Success","code":0}
 *   GET  /services/collector/health, POST …/ack
 *   POST /gelf                                   GELF over HTTP: one GELF JSON object → 202
 *
 * Each reads its body whole (bounded by ingest.maxBody, decompressed per
 * Content-Encoding), decodes it into JSON lines (src/protocols/ingest/), stores them
 * as records of the `json` format (GELF: `gelf`) and answers the way its clients
 * expect once every record is durable. A request that arrives while the pipeline is
 * over its high watermark gets the format's "busy" answer (429/503) at once.
 */
import type http from 'node:http';
import { decodeLokiPush } from '../protocols/ingest/loki.js';
import { decodeOtlpLogs, otlpResponse } from '../protocols/ingest/otlp.js';
import { decodeEsBulk, esBulkResponse, esCreated, esDocumentLine, esErrorBody, esProbeResponse } from '../protocols/ingest/es-bulk.js';
import { decodeHecEvents, decodeHecRaw, hecAckResponse, hecHealthResponse, hecResponse, hecResponseFor } from '../protocols/ingest/splunk-hec.js';
import { IngestDecodeError, type DecodedBody } from '../protocols/ingest/types.js';
import type { FormatName } from '../protocols/formats/format.js';
import type { Metrics } from '../metrics/metrics.js';
import { peerOf, readBody, type IngestApi } from './ingest-api.js';

type Answer = { status: number; headers?: Record<string, string>; body?: Buffer | string };

/** A request this module answers: `serve` does it; `open` means no token is needed. */
export interface Route {
  open: boolean;
  serve(res: http.ServerResponse): Promise<void>;
}

const HEC_EVENT = /^\/services\/collector(\/event)?(\/1\.0)?\/?$/;
const HEC_RAW = /^\/services\/collector\/raw(\/1\.0)?\/?$/;
const HEC_HEALTH = /^\/services\/collector\/health(\/1\.0)?\/?$/;
const ES_BULK = /^(?:\/([^/_][^/]*))?\/_bulk\/?$/;
/** `/{index}/_doc`, `/{index}/_doc/{id}`, `/{index}/_create/{id}`. */
const ES_DOC = /^\/([^/_][^/]*)\/(_doc|_create)(?:\/([^/]+))?\/?$/;

/** A URL path segment, decoded; null when its %-escapes are not valid UTF-8. */
function pathSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

export class CompatApi {
  constructor(private readonly ingest: IngestApi, private readonly metrics: Metrics) {}

  /**
   * The endpoint this request is for, or null. `open`: it needs no token (HEC's health
   * check, which Splunk answers without one).
   */
  route(url: URL, req: http.IncomingMessage): Route | null {
    const p = url.pathname;
    const method = req.method ?? 'GET';
    const ingest = (endpoint: string, run: (body: Buffer) => Promise<Answer>): Route => ({ open: false, serve: (res) => this.ingest.track(res, req, () => this.run(endpoint, run, req, res)) });
    const answer = (open: boolean, a: () => Answer): Route => ({ open, serve: async (res) => {
      req.resume();
      send(res, a());
    } });
    if (method === 'POST') {
      if (p === '/loki/api/v1/push') return ingest('loki', (b) => this.loki(b, req));
      if (p === '/v1/logs') return ingest('otlp', (b) => this.otlp(b, req));
      const bulk = ES_BULK.exec(p);
      if (bulk !== null) {
        const index = bulk[1] === undefined ? null : pathSegment(bulk[1]);
        if (bulk[1] !== undefined && index === null) {
          return ingest('es_bulk', async () => ({ status: 400, headers: { 'content-type': 'application/json; charset=UTF-8', 'x-elastic-product': 'Elasticsearch' }, body: esErrorBody(400, 'illegal_argument_exception', 'the index in the path is not valid percent-encoded UTF-8') }));
        }
        return ingest('es_bulk', (b) => this.esBulk(b, index, req));
      }
      if (HEC_EVENT.test(p)) return ingest('hec', (b) => this.hec(decodeHecEvents, b, url, req));
      if (HEC_RAW.test(p)) return ingest('hec', (b) => this.hec(decodeHecRaw, b, url, req));
      if (p === '/services/collector/ack') return ingest('hec', async (b) => hecAckResponse(b));
      if (p === '/gelf') return ingest('gelf', (b) => this.gelf(b, req));
    }
    const doc = method === 'POST' || method === 'PUT' ? ES_DOC.exec(p) : null;
    // _doc without an id is POST only; _create needs an id.
    if (doc !== null && (doc[3] !== undefined || (doc[2] === '_doc' && method === 'POST'))) {
      return ingest('es_bulk', (b) => this.esDoc(b, doc[1]!, doc[2] === '_create' ? 'create' : 'index', doc[3] === undefined ? null : doc[3], req));
    }
    if (method === 'GET' && HEC_HEALTH.test(p)) return answer(true, () => hecHealthResponse(!this.ingest.overloaded));
    const probe = esProbeResponse(method, p);
    return probe === null ? null : answer(false, () => probe);
  }

  private async run(endpoint: string, run: (body: Buffer) => Promise<Answer>, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      let answer: Answer;
      if (this.ingest.overloaded) {
        req.resume();
        answer = busy(endpoint);
      } else {
        const lim = this.ingest.limits;
        const read = await readBody(req, lim.maxBody, lim.bodyTimeoutMs);
        if (!read.ok) answer = bodyError(endpoint, read.status, read.message);
        else {
          this.metrics.ingestBytes.inc({ endpoint }, read.rawBytes);
          try {
            answer = await run(read.body);
          } catch (err) {
            if (!(err instanceof IngestDecodeError)) throw err;
            this.metrics.ingestRejected.inc({ endpoint, reason: err.reason });
            answer = bodyError(endpoint, 400, err.message);
          }
        }
      }
      status = answer.status;
      if (status === 499) res.destroy();
      else send(res, answer);
    } finally {
      this.metrics.ingestRequests.inc({ endpoint, status: String(status) });
      this.metrics.ingestDuration.observe({ endpoint }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** Stores the decoded lines; false when they were not durable in time. */
  private async store(d: DecodedBody, req: http.IncomingMessage, endpoint: string, format: FormatName = 'json'): Promise<boolean> {
    for (const r of d.rejected) this.metrics.ingestRejected.inc({ endpoint, reason: r.reason });
    return this.ingest.store(d.lines, { listener: endpoint, transport: 'http', peer: peerOf(req) }, format, endpoint);
  }

  private async loki(body: Buffer, req: http.IncomingMessage): Promise<Answer> {
    const d = decodeLokiPush(body, req.headers['content-type'] ?? '', { maxDecompressed: this.ingest.limits.maxBody });
    if (!(await this.store(d, req, 'loki'))) return busy('loki');
    // Loki answers 204; entries it refuses make the request a 400 (clients do not retry it), the others are kept.
    if (d.rejected.length > 0) {
      return text(400, `${d.rejected.length} of ${d.rejected.length + d.lines.length} entries rejected (the others were stored); first: entry ${d.rejected[0]!.index}: ${d.rejected[0]!.reason}`);
    }
    return { status: 204 };
  }

  private async otlp(body: Buffer, req: http.IncomingMessage): Promise<Answer> {
    const ct = req.headers['content-type'] ?? '';
    const d = decodeOtlpLogs(body, ct);
    if (!(await this.store(d, req, 'otlp'))) return busy('otlp');
    const r = otlpResponse(ct, d.rejected.length, d.rejected.length > 0 ? `${d.rejected.length} log records rejected; first: record ${d.rejected[0]!.index}: ${d.rejected[0]!.reason}` : '');
    return { status: 200, headers: { 'content-type': r.contentType }, body: r.body };
  }

  private async esBulk(body: Buffer, index: string | null, req: http.IncomingMessage): Promise<Answer> {
    const t0 = Date.now();
    const { items } = decodeEsBulk(body, index, { maxItem: this.ingest.limits.maxItem });
    const lines: Buffer[] = [];
    for (const it of items) if (it.line !== undefined) lines.push(it.line);
    const rejected = items.flatMap((it, i) => (it.error ? [{ index: i, reason: it.error.type }] : []));
    const durable = await this.store({ lines, rejected }, req, 'es_bulk');
    // Items not durable in time answer 429 each: every bulk client retries those.
    const out = esBulkResponse(items, Date.now() - t0, (i) => durable && items[i]!.line !== undefined);
    return { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8', 'x-elastic-product': 'Elasticsearch' }, body: out };
  }

  /**
   * The single-document index API: the document is stored as one bulk item would be
   * (docs/ingest-compat.md), and answered as Elasticsearch answers `PUT /{index}/_doc/{id}`:
   * 201 with `result: created`, or the item's error with its status.
   */
  private async esDoc(body: Buffer, rawIndex: string, action: 'index' | 'create', rawId: string | null, req: http.IncomingMessage): Promise<Answer> {
    const json = { 'content-type': 'application/json; charset=UTF-8', 'x-elastic-product': 'Elasticsearch' };
    const refuse = (status: number, type: string, reason: string): Answer => ({ status, headers: json, body: esErrorBody(status, type, reason) });
    const index = pathSegment(rawIndex);
    const id = rawId === null ? null : pathSegment(rawId);
    if (index === null || (rawId !== null && id === null)) return refuse(400, 'illegal_argument_exception', 'the index or id in the path is not valid percent-encoded UTF-8');
    const maxItem = this.ingest.limits.maxItem;
    if (body.length > maxItem) return refuse(413, 'document_too_large', `the document is ${body.length} bytes, more than the limit of ${maxItem} (ingest.maxItem)`);
    const doc = esDocumentLine(body);
    if (doc.every((c) => c === 0x20 || c === 0x09)) return refuse(400, 'parse_exception', 'request body is required');
    // Stored exactly as a bulk item with this action, index and id would be.
    const actionLine = Buffer.from(`${JSON.stringify({ [action]: id === null ? {} : { _id: id } })}\n`);
    const item = decodeEsBulk(Buffer.concat([actionLine, doc, Buffer.from('\n')]), index, { maxItem }).items[0]!;
    if (item.error !== undefined) return refuse(item.error.status, item.error.type, item.error.reason.replace(/^the document on line 2 /, 'the document '));
    if (!(await this.store({ lines: [item.line!], rejected: [] }, req, 'es_bulk'))) return busy('es_bulk');
    const { status: _status, ...result } = esCreated(item, 0) as { status: number };
    return { status: 201, headers: { ...json, location: `/${encodeURIComponent(item._index)}/_doc/${encodeURIComponent(item._id)}` }, body: JSON.stringify(result) };
  }

  private async hec(decode: (b: Buffer, q: URLSearchParams) => DecodedBody, body: Buffer, url: URL, req: http.IncomingMessage): Promise<Answer> {
    const d = decode(body, url.searchParams);
    if (!(await this.store(d, req, 'hec'))) return busy('hec');
    return { ...hecResponseFor(d), headers: { 'content-type': 'application/json' } };
  }

  private async gelf(body: Buffer, req: http.IncomingMessage): Promise<Answer> {
    if (body.length === 0) return text(400, 'an empty body: send one GELF JSON object');
    if (!(await this.store({ lines: [body], rejected: [] }, req, 'gelf', 'gelf'))) return busy('gelf');
    // Graylog's GELF HTTP input answers 202 Accepted.
    return { status: 202 };
  }
}

function text(status: number, message: string): Answer {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: message + '\n' };
}

/** The format's way of saying "over capacity, retry later". */
function busy(endpoint: string): Answer {
  const retry = { 'retry-after': '1' };
  switch (endpoint) {
    case 'es_bulk':
      return { status: 429, headers: { ...retry, 'content-type': 'application/json' }, body: esErrorBody(429, 'es_rejected_execution_exception', 'ringlog is over its queue watermark; retry later') };
    case 'hec': {
      const r = hecResponse('server_busy');
      return { status: r.status, headers: { ...retry, 'content-type': 'application/json' }, body: r.body };
    }
    default:
      return { ...text(429, 'ringlog is over its queue watermark or its store cannot write; retry later'), headers: { ...retry, 'content-type': 'text/plain; charset=utf-8' } };
  }
}

/** A body that could not be read or decoded, in the format's error shape. */
function bodyError(endpoint: string, status: number, message: string): Answer {
  switch (endpoint) {
    case 'es_bulk':
      return { status, headers: { 'content-type': 'application/json' }, body: esErrorBody(status, status === 413 ? 'content_too_long_exception' : 'parse_exception', message) };
    case 'hec': {
      if (status !== 400) return text(status, message);
      const r = hecResponse('invalid_data_format');
      return { status: r.status, headers: { 'content-type': 'application/json' }, body: r.body };
    }
    default:
      return text(status, message);
  }
}

function send(res: http.ServerResponse, a: Answer): void {
  if (res.headersSent) return;
  res.writeHead(a.status, a.headers ?? {});
  res.end(a.body);
}
