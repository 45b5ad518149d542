/**
 * The HTTP port: /metrics (Prometheus text format) and /healthz. Later issues add
 * the ingest, query and tail APIs here.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseHostPort, formatHostPort } from '../config/address.js';
import { listenTcp } from '../ingest/stream-listener.js';

export interface HttpDeps {
  metricsText: () => Promise<string>;
  /** null when healthy, else the reason the server is not (shutting down…). */
  unhealthy: () => string | null;
  health: () => Record<string, unknown>;
}

export class HttpServer {
  private server: http.Server | null = null;
  address = '';

  constructor(private readonly deps: HttpDeps) {}

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'method not allowed' }));
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
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${url.pathname}` }));
    }
  }

  async listen(address: string): Promise<void> {
    const server = http.createServer({ keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (err as Error).message }));
      });
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
