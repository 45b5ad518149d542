/**
 * Every error code ringlog reports, in one place. Codes are never reused; each is
 * documented in docs/errors.md (a test keeps the two in sync).
 */

export const ERROR_CODES = {
  RL_CONFIG_INVALID: 'The configuration (file, environment or flags) has a bad value; the message names the key and what is allowed.',
  RL_LISTEN_FAILED: 'A listener could not bind its address or path (in use, permission denied, no such interface).',
  RL_TLS_FILES: 'The TLS certificate, key or CA file of a listener or of the HTTP port could not be read or is not valid PEM.',
  RL_OUTPUT_FAILED: 'An output could not be opened or written (for example the NDJSON file).',
  RL_STORE_OPEN: 'The store in the data directory could not be created, opened or recovered (permissions, I/O errors).',
  RL_STORE_LOCKED: 'Another ringlog server is using the data directory (its pid is in store/LOCK); one server per data directory.',
  RL_STORE_VERSION: 'The data directory holds a store of another format version; use the ringlog version that wrote it.',
  RL_STORE_FAILED: 'The store stopped working while the server ran (its worker failed); the server exits, and acknowledged records are recovered from the WAL at the next start.',
  RL_QUERY_INVALID: 'A query has a bad time range, filter or option; the message says which.',
  RL_QUERY_TIMEOUT: 'A query ran past its time limit (query.timeLimit) and was stopped.',
  RL_QUERY_BUSY: 'Too many queries are running or waiting (query.workers, query.maxQueued); the HTTP API answers 429 with Retry-After.',
  RL_QUERY_CANCELLED: 'A query was stopped because its client went away.',
  RL_QUERY_UNAVAILABLE: 'The server runs without a store (--no-store): the query and tail endpoints answer 503.',
  RL_INGEST_INVALID: 'An ingest request body is not what its content type says (a broken JSON array, bad compression) or a parameter is bad (400).',
  RL_INGEST_TOO_LARGE: 'An ingest request body is over ingest.maxBody, before or after decompression (413).',
  RL_INGEST_UNSUPPORTED: 'An ingest request has a content type or content encoding the endpoint does not read (415).',
  RL_INGEST_OVERLOADED: 'The server is over its queue watermark: ingest requests are answered 429 with Retry-After until it drains.',
  RL_INGEST_TIMEOUT: 'An ingest request body stopped arriving for longer than ingest.bodyTimeout (408).',
  RL_INGEST_NOT_DURABLE: 'The records of an ingest request were not durable within ingest.ackTimeout (503): the store is stalled; a retry may store them twice.',
  RL_HTTP_UNAUTHORIZED: 'A request to an ingest or query endpoint carried no valid token while http.tokens are configured (401).',
  RL_HTTP_FORBIDDEN: 'A request carried a valid token whose scope does not allow the endpoint (403).',
  RL_HTTP_NOT_FOUND: 'The HTTP port has no route for the path (404).',
  RL_HTTP_METHOD: 'The HTTP method is not allowed on the path (405).',
  RL_INTERNAL: 'A request failed because of a bug or an unexpected I/O error inside the server (500); the server log has the details.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class RinglogError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'RinglogError';
  }
}

export class ConfigError extends RinglogError {
  constructor(message: string) {
    super('RL_CONFIG_INVALID', message);
    this.name = 'ConfigError';
  }
}
