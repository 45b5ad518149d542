/**
 * The HTTP port (docs/api.md): /metrics (Prometheus text format), /healthz, and the
 * query API: /api/v1/query, /count, /hits, /facets (query-api.ts) and /api/v1/tail
 * (live tail over Server-Sent Events, query/tail-hub.ts); POST /api/v1/ingest
 * (ingest-api.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Auth, Scope } from './auth.js';
import type { AddressInfo } from 'node:net';
import { parseHostPort, formatHostPort } from '../config/address.js';
import { listenTcp } from '../ingest/stream-listener.js';
import { errorDetails, queryFromParams, sendError, type Endpoint, type QueryApi } from './query-api.js';
import type { TailHub } from '../query/tail-hub.js';
import type { IngestApi } from './ingest-api.js';
import type { CompatApi } from './compat-api.js';
import { RinglogError } from '../errors.js';

export interface HttpDeps {
  metricsText: () => Promise<string>;
  /** null when healthy, else the reason the server is not (shutting down…). */
  unhealthy: () => string | null;
  health: () => Record<string, unknown>;
  /** null when the server runs without a store: the query endpoints answer 503. */
  query: QueryApi | null;
  tail: TailHub | null;
  ingest: IngestApi;
  compat: CompatApi;
  maxQueryLength: number;
  onError?: (err: Error) => void;
  auth: Auth;
  /** HTTPS with this PEM certificate and key, read at listen(). */
  tls?: { cert: string; key: string } | undefined;
}

const QUERY_ENDPOINTS: Record<string, Endpoint> = {
  '/api/v1/query': 'query',
  '/api/v1/count': 'count',
  '/api/v1/hits': 'hits',
  '/api/v1/facets': 'facets',
};

export class HttpServer {
  private server: http.Server | null = null;
  address = '';

  constructor(private readonly deps: HttpDeps) {}

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api/v1/ingest') {
      if (!this.allowed(req, res, 'ingest')) return;
      if (req.method !== 'POST') {
        sendError(res, 405, 'RL_HTTP_METHOD', `${req.method} is not allowed here; use POST`, {}, { allow: 'POST' });
        return;
      }
      await this.deps.ingest.handle(url, req, res);
      return;
    }
    // The shippers' endpoints and the Elasticsearch probes (compat-api.ts).
    if (url.pathname !== '/metrics' && url.pathname !== '/healthz' && !url.pathname.startsWith('/api/')) {
      // An open route (HEC's health check) needs no token.
      const route = this.deps.compat.route(url, req);
      if (route !== null) {
        if (route.open || this.allowed(req, res, 'ingest')) await route.serve(res);
        return;
      }
    }
    const known = QUERY_ENDPOINTS[url.pathname] !== undefined || url.pathname === '/api/v1/tail' || url.pathname === '/metrics' || url.pathname === '/healthz';
    if (!known) {
      req.resume();
      sendError(res, 404, 'RL_HTTP_NOT_FOUND', `no route ${req.method} ${url.pathname}; see docs/api.md`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      req.resume();
      sendError(res, 405, 'RL_HTTP_METHOD', `${req.method} is not allowed here; use GET`, {}, { allow: 'GET, HEAD' });
      return;
    }
    const endpoint = QUERY_ENDPOINTS[url.pathname];
    if (endpoint !== undefined || url.pathname === '/api/v1/tail') {
      if (!this.allowed(req, res, 'query')) return;
      if (this.deps.query === null) {
        sendError(res, 503, 'RL_QUERY_UNAVAILABLE', 'this server runs without a store (--no-store): there is nothing to query or tail');
        return;
      }
      if (endpoint !== undefined) await this.deps.query.handle(endpoint, url, req, res);
      else this.tail(url, res);
      return;
    }
    switch (url.pathname) {
      case '/metrics': {
        const body = await this.deps.metricsText();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
        return;
      }
      case '/healthz': {
        const reason = this.deps.unhealthy();
        const body = JSON.stringify({ status: reason === null ? 'ok' : 'unavailable', ...(reason ? { reason } : {}), ...this.deps.health() });
        res.writeHead(reason === null ? 200 : 503, { 'content-type': 'application/json' }).end(body);
        return;
      }
      default:
        sendError(res, 404, 'RL_HTTP_NOT_FOUND', `no route ${url.pathname}; see docs/api.md`);
    }
  }

  /** Answers 401/403 and returns false unless the request may do `scope` (auth.ts). */
  private allowed(req: http.IncomingMessage, res: http.ServerResponse, scope: Scope): boolean {
    const r = this.deps.auth.check(req, scope);
    if (r.ok) return true;
    req.resume();
    if (r.status === 401) sendError(res, 401, 'RL_HTTP_UNAUTHORIZED', r.message, {}, { 'www-authenticate': 'Bearer realm="ringlog", Basic realm="ringlog"' });
    else sendError(res, 403, 'RL_HTTP_FORBIDDEN', r.message);
    return false;
  }

  private tail(url: URL, res: http.ServerResponse): void {
    let root;
    try {
      root = queryFromParams(url.searchParams, Date.now(), this.deps.maxQueryLength).root;
    } catch (err) {
      if (!(err instanceof RinglogError)) throw err;
      sendError(res, 400, err.code, err.message, errorDetails(err));
      return;
    }
    if (!this.deps.tail!.subscribe(root, res)) {
      sendError(res, 429, 'RL_QUERY_BUSY', 'too many live tail subscribers; try again later', {}, { 'retry-after': '5' });
    }
  }

  async listen(address: string): Promise<void> {
    const options = { keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 300_000 };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((err) => {
        this.deps.onError?.(err as Error);
        if (!res.headersSent) sendError(res, 500, 'RL_INTERNAL', 'the request failed inside the server; see its log');
        else res.end();
      });
    };
    const tls = this.deps.tls;
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new RinglogError('RL_TLS_FILES', `http.tls.${what}: cannot read ${file}: ${(err as Error).message}`);
      }
    };
    let server: http.Server;
    try {
      server = tls ? https.createServer({ ...options, cert: read(tls.cert, 'cert'), key: read(tls.key, 'key') }, handler) : http.createServer(options, handler);
    } catch (err) {
      if (err instanceof RinglogError) throw err;
      throw new RinglogError('RL_TLS_FILES', `http.tls: the certificate or key is not valid PEM: ${(err as Error).message}`);
    }
    // Expect: 100-continue (curl sends it for bodies over 1 MiB): a body declared larger
    // than ingest.maxBody gets its 413 at once, without "100 Continue", so the client
    // does not send it (RFC 9110 §10.1.1); before, it was told to go on, then refused
    // mid-upload, and saw a broken pipe instead of the answer.
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (!(declared > this.deps.ingest.limits.maxBody)) res.writeContinue();
      handler(req, res);
    });
    this.server = server;
    const hp = parseHostPort(address)!;
    await listenTcp(server, hp.host, hp.port, 'http');
    const a = server.address() as AddressInfo;
    this.address = formatHostPort(a.address, a.port);
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
    this.server = null;
  }
}
