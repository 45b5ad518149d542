/**
 * API tokens for the HTTP port (docs/api.md, "Authentication"). With none configured
 * the API is open; with any, the ingest endpoints need a token of scope `ingest` or
 * `all`, the query and tail endpoints one of scope `query` or `all`. /metrics and
 * /healthz stay open (monitoring scrapes them; they hold no records).
 *
 * A token travels the way each client sends credentials: `Authorization: Bearer T`
 * (ringlog, OTLP, Loki clients), `Splunk T` (HEC), `ApiKey base64(id:T)` or
 * `Basic base64(user:T)` (Elasticsearch clients, Loki's basic auth: the user name is
 * ignored, the password is the token). Tokens are compared by their SHA-256, in
 * constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

export type Scope = 'ingest' | 'query';

export interface TokenConfig {
  name?: string | undefined;
  token: string;
  scope: 'ingest' | 'query' | 'all';
}

export type AuthResult = { ok: true; name: string } | { ok: false; status: 401 | 403; message: string };

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class Auth {
  private readonly tokens: { name: string; hash: Buffer; scope: TokenConfig['scope'] }[];

  constructor(tokens: TokenConfig[]) {
    this.tokens = tokens.map((t, i) => ({ name: t.name ?? `token ${i + 1}`, hash: digest(t.token), scope: t.scope }));
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  check(req: http.IncomingMessage, scope: Scope): AuthResult {
    if (!this.enabled) return { ok: true, name: '' };
    const presented = credential(req.headers.authorization);
    if (presented === null) return { ok: false, status: 401, message: 'this endpoint needs a token: send Authorization: Bearer <token>' };
    const h = digest(presented);
    // Every token is compared, so the time taken does not say which one matched.
    let match: (typeof this.tokens)[number] | null = null;
    for (const t of this.tokens) if (timingSafeEqual(t.hash, h) && match === null) match = t;
    if (match === null) return { ok: false, status: 401, message: 'the token is not valid' };
    if (match.scope !== 'all' && match.scope !== scope) return { ok: false, status: 403, message: `the token "${match.name}" may ${match.scope}, not ${scope}` };
    return { ok: true, name: match.name };
  }
}

/** The token in an Authorization header, or null. */
export function credential(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^\s*(\S+)\s+(.+?)\s*$/.exec(header);
  if (m === null) return null;
  const scheme = m[1]!.toLowerCase();
  const value = m[2]!;
  if (scheme === 'bearer' || scheme === 'splunk') return value;
  if (scheme === 'basic' || scheme === 'apikey') {
    const text = Buffer.from(value, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    return colon >= 0 ? text.slice(colon + 1) : null;
  }
  return null;
}
