/**
 * The query endpoints of the HTTP port (docs/api.md):
 *
 *   GET /api/v1/query   records, NDJSON, streamed; the last line is {"_meta":{…}} (cursor, stats)
 *   GET /api/v1/count   {"count":…}
 *   GET /api/v1/hits    counts per time bucket (a histogram)
 *   GET /api/v1/facets  the most frequent values of fields
 *
 * Parameters common to all: `query` (or `q`, docs/query.md), `since`, `until`. The
 * work runs on the query workers (query-pool.ts); a client that goes away cancels it.
 */
import type http from 'node:http';
import { RinglogError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Node } from '../query/ast.js';
import { parseQuery, QuerySyntaxError } from '../query/parser.js';
import { fromTimePoint } from '../query/plan.js';
import { decodeCursor, niceStep, MAX_BUCKETS, type Job, type JobResult } from '../query/jobs.js';
import type { QueryPool } from '../query/query-pool.js';
import type { ScanStats } from '../store/store-reader.js';
import { parseDuration } from '../config/units.js';
import { parseWhen } from '../query/when.js';

export interface QueryApiOptions {
  /** Longest query text accepted. */
  maxQueryLength: number;
  /** Records a search returns when the request sets no limit; and the most it may ask for (0 = no ceiling). */
  defaultLimit: number;
  maxLimit: number;
}

export type Endpoint = 'query' | 'count' | 'hits' | 'facets';

/** Status of each error code when it is the answer. */
const STATUS: Record<string, number> = {
  RL_QUERY_INVALID: 400,
  RL_QUERY_BUSY: 429,
  RL_QUERY_TIMEOUT: 504,
  RL_QUERY_CANCELLED: 499,
};

const OUTCOME: Record<string, string> = {
  RL_QUERY_INVALID: 'invalid',
  RL_QUERY_BUSY: 'busy',
  RL_QUERY_TIMEOUT: 'timeout',
  RL_QUERY_CANCELLED: 'cancelled',
};

export function sendError(res: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ error: { code, message, ...extra } }) + '\n');
}

/** What an error body says besides code and message: a syntax error's position and what was expected there. */
export function errorDetails(err: unknown): Record<string, unknown> {
  return err instanceof QuerySyntaxError ? { position: err.pos, expected: err.expected } : {};
}

/** The common parameters → one query tree: the query ANDed with since/until. Throws RL_QUERY_INVALID. */
export function queryFromParams(params: URLSearchParams, now: number, maxLength: number): { root: Node; from: bigint | null; to: bigint | null } {
  const text = params.get('query') ?? params.get('q') ?? '';
  const parsed = parseQuery(text, { now, maxLength });
  const since = params.get('since') ?? params.get('from');
  const until = params.get('until') ?? params.get('to');
  const from = since !== null && since !== '' ? fromTimePoint(parseWhen(since, now, 'since')) : null;
  const to = until !== null && until !== '' ? fromTimePoint(parseWhen(until, now, 'until')) : null;
  if (from !== null && to !== null && from >= to) throw new RinglogError('RL_QUERY_INVALID', 'since must be before until');
  const items: Node[] = [parsed.root];
  if (from !== null || to !== null) items.push({ kind: 'time', from, to });
  return { root: items.length === 1 ? items[0]! : { kind: 'and', items }, from, to };
}

function intParam(params: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const v = params.get(name);
  if (v === null || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new RinglogError('RL_QUERY_INVALID', `${name}: "${v}" must be a whole number from ${min} to ${max}`);
  return n;
}

/**
 * The job a request asks for, from its parameters (docs/api.md): the HTTP API's, and
 * `ringlog query`'s when it opens a data directory itself (it builds the same
 * parameters). Throws RL_QUERY_INVALID.
 */
export function jobFromParams(endpoint: Endpoint, p: URLSearchParams, now: number, opts: QueryApiOptions): Job {
  const { root, from, to } = queryFromParams(p, now, opts.maxQueryLength);
  switch (endpoint) {
    case 'query': {
      const cursorText = p.get('cursor');
      const order = p.get('order') ?? 'newest';
      if (order !== 'newest' && order !== 'oldest') throw new RinglogError('RL_QUERY_INVALID', `order: "${order}" must be newest or oldest`);
      const max = opts.maxLimit > 0 ? opts.maxLimit : Number.MAX_SAFE_INTEGER;
      const limit = intParam(p, 'limit', opts.defaultLimit, opts.maxLimit > 0 ? 1 : 0, max);
      if (cursorText !== null && cursorText !== '') {
        const c = decodeCursor(cursorText);
        if (c.order !== order) throw new RinglogError('RL_QUERY_INVALID', `cursor: it belongs to a search in ${c.order}-first order; pass the same order`);
        return { kind: 'query', root, order, limit, after: c.cursor, receivedBefore: c.receivedBefore };
      }
      return { kind: 'query', root, order, limit, after: null, receivedBefore: BigInt(now) * 1_000_000n + 999_999n };
    }
    case 'count':
      return { kind: 'count', root };
    case 'hits': {
      // A histogram needs both ends: by default the last 24 hours up to now.
      const toMs = to !== null ? Number(to / 1_000_000n) : now;
      const fromMs = from !== null ? Number(from / 1_000_000n) : toMs - 86_400_000;
      const stepText = p.get('step');
      let stepMs: number;
      if (stepText === null || stepText === '') stepMs = niceStep(toMs - fromMs);
      else {
        const d = parseDuration(stepText);
        if (d === null || d < 1) throw new RinglogError('RL_QUERY_INVALID', `step: "${stepText}" is not a duration (1s, 5m, 1h)`);
        stepMs = d;
      }
      if ((toMs - fromMs) / stepMs > MAX_BUCKETS) throw new RinglogError('RL_QUERY_INVALID', `step: ${stepText} gives more than ${MAX_BUCKETS} buckets over the range; use a larger step`);
      const items: Node[] = [root, { kind: 'time', from: BigInt(fromMs) * 1_000_000n, to: BigInt(toMs) * 1_000_000n }];
      return { kind: 'hits', root: { kind: 'and', items }, fromMs, toMs, stepMs };
    }
    case 'facets': {
      const fields = p.getAll('field').flatMap((f) => f.split(',')).map((f) => f.trim()).filter((f) => f.length > 0);
      if (fields.length === 0) fields.push('host', 'app', 'severity');
      if (fields.length > 20) throw new RinglogError('RL_QUERY_INVALID', 'facets: at most 20 fields at once');
      return { kind: 'facets', root, fields, top: intParam(p, 'top', 10, 1, 1000) };
    }
  }
}

export class QueryApi {
  constructor(private readonly pool: QueryPool, private readonly metrics: Metrics, private readonly opts: QueryApiOptions) {}

  async handle(endpoint: Endpoint, url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      const now = Date.now();
      const job = jobFromParams(endpoint, url.searchParams, now, this.opts);
      if (req.method === 'HEAD') {
        // The request is valid: say what a GET would send, without running it.
        res.writeHead(200, { 'content-type': endpoint === 'query' ? 'application/x-ndjson; charset=utf-8' : 'application/json', 'cache-control': 'no-store' }).end();
        return;
      }
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      req.on('error', () => abort.abort());
      this.metrics.queryRunning.inc();
      let result: JobResult;
      try {
        result = await this.pool.run(job, (data) => this.write(res, data), abort.signal);
      } finally {
        this.metrics.queryRunning.dec();
      }
      this.countBlocks(result.stats);
      this.finish(res, result);
    } catch (err) {
      const code = err instanceof RinglogError ? err.code : 'RL_INTERNAL';
      outcome = OUTCOME[code] ?? 'error';
      const message = err instanceof Error ? err.message : String(err);
      const extra = errorDetails(err);
      if (res.headersSent) {
        // A search that had begun streaming: its last line says why it ended.
        if (!res.destroyed) res.end(JSON.stringify({ _error: { code, message } }) + '\n');
      } else if (outcome === 'error') {
        sendError(res, 500, 'RL_INTERNAL', 'the query failed inside the server; see its log');
        throw err;
      } else {
        sendError(res, STATUS[code] ?? 500, code, message, extra, code === 'RL_QUERY_BUSY' ? { 'retry-after': '1' } : {});
      }
    } finally {
      this.metrics.queryRequests.inc({ endpoint, outcome });
      this.metrics.queryDuration.observe({ endpoint }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** Writes a chunk of a search; resolves once the socket took it (flow control back to the worker). */
  private write(res: http.ServerResponse, data: string): void | Promise<void> {
    if (res.destroyed) return Promise.reject(new Error('client gone'));
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    if (res.write(data)) return undefined;
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        res.off('drain', onDrain);
        res.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new Error('client gone'));
      res.on('drain', onDrain);
      res.on('close', onClose);
    });
  }

  private finish(res: http.ServerResponse, r: JobResult): void {
    if (res.destroyed) return;
    if (r.kind === 'query') {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ _meta: { matched: r.matched, cursor: r.cursor, stats: r.stats } }) + '\n');
      return;
    }
    const { kind: _kind, ...body } = r;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body) + '\n');
  }

  private countBlocks(s: ScanStats): void {
    this.metrics.queryBlocks.inc({ result: 'read' }, s.read);
    this.metrics.queryBlocks.inc({ result: 'skipped_time' }, s.skippedByTime);
    this.metrics.queryBlocks.inc({ result: 'skipped_index' }, s.skippedByIndex);
    this.metrics.queryBlocks.inc({ result: 'damaged' }, s.damaged);
  }
}
