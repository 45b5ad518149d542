/**
 * Configuration sources, lowest precedence first: built-in defaults (in the schema),
 * a JSON or YAML file (`--config` / RINGLOG_CONFIG), RINGLOG_* environment variables,
 * command-line flags. Each flag has exactly one environment variable and one key in
 * the file; the table below is the single list of them, used for `--help`, for the
 * environment and for error messages.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.js';
import { ConfigError } from '../errors.js';

export type OptionKind = 'string' | 'list' | 'bool' | 'int';

export interface OptionDef {
  /** Long flag without the dashes, e.g. `max-frame`. */
  flag: string;
  /** Value placeholder in --help, or '' for a boolean switch. */
  arg: string;
  /** Dotted key in the config file; a listener kind for the listener flags. */
  key: string;
  kind: OptionKind;
  help: string;
}

export const LISTENER_FLAGS = ['tcp', 'tls', 'udp', 'unix', 'unix-dgram'] as const;

/** Every `serve` option. Listener flags are repeatable and replace the default listeners. */
export const SERVE_OPTIONS: OptionDef[] = [
  { flag: 'tcp', arg: 'ADDR', key: 'listeners', kind: 'list', help: 'logs over TCP (syslog, JSON lines, logfmt, GELF, text: detected per message unless --format) on host:port, [ipv6]:port or :port (repeatable; default ":5140" when no listener is given)' },
  { flag: 'udp', arg: 'ADDR', key: 'listeners', kind: 'list', help: 'logs over UDP, one message per datagram (GELF datagrams may be compressed or chunked) (repeatable; default ":5140" when no listener is given)' },
  { flag: 'tls', arg: 'ADDR', key: 'listeners', kind: 'list', help: 'syslog over TLS (RFC 5425) on host:port; needs --tls-cert and --tls-key (repeatable)' },
  { flag: 'unix', arg: 'PATH', key: 'listeners', kind: 'list', help: 'Unix stream socket at PATH (repeatable)' },
  { flag: 'unix-dgram', arg: 'PATH', key: 'listeners', kind: 'list', help: 'Unix datagram socket at PATH, as /dev/log (repeatable)' },
  { flag: 'tls-cert', arg: 'FILE', key: 'tls.cert', kind: 'string', help: 'PEM certificate (chain) for the --tls listeners' },
  { flag: 'tls-key', arg: 'FILE', key: 'tls.key', kind: 'string', help: 'PEM private key for the --tls listeners' },
  { flag: 'tls-ca', arg: 'FILE', key: 'tls.ca', kind: 'string', help: 'PEM CA bundle; with it, --tls listeners require client certificates it signed' },
  { flag: 'socket-mode', arg: 'MODE', key: 'socketMode', kind: 'string', help: 'file mode of Unix socket listeners, e.g. 0666 so every local user can log (default: from the umask)' },
  { flag: 'http', arg: 'ADDR', key: 'http.address', kind: 'string', help: 'HTTP API, /metrics and /healthz on host:port, or "off" (default ":5080")' },
  { flag: 'data-dir', arg: 'DIR', key: 'dataDir', kind: 'string', help: 'data directory (default "./ringlog-data")' },
  { flag: 'output', arg: 'SPEC', key: 'outputs', kind: 'list', help: 'more outputs besides the store: "ndjson:PATH" appends records as NDJSON, "null" counts and discards them (repeatable)' },
  { flag: 'framing', arg: 'MODE', key: 'framing.mode', kind: 'string', help: 'stream framing: auto (octet counting or LF, per frame), lf, octet (default auto)' },
  { flag: 'no-nul-delimiter', arg: '', key: 'framing.nulDelimiter', kind: 'bool', help: 'do not treat NUL as a frame terminator on stream listeners' },
  { flag: 'format', arg: 'FORMAT', key: 'parsing.format', kind: 'string', help: 'message format: auto (per frame: syslog, JSON, logfmt or raw text), syslog, rfc5424, rfc3164, json, gelf, logfmt, raw (default auto)' },
  { flag: 'max-frame', arg: 'SIZE', key: 'limits.maxFrame', kind: 'string', help: 'largest frame, e.g. 64KiB (default 64KiB)' },
  { flag: 'on-oversize', arg: 'ACTION', key: 'limits.onOversize', kind: 'string', help: 'what to do with a longer frame: truncate (keep the first max-frame bytes, flagged) or drop (default truncate)' },
  { flag: 'idle-timeout', arg: 'DURATION', key: 'limits.idleTimeout', kind: 'string', help: 'close stream connections idle this long, 0 = never (default 5m)' },
  { flag: 'max-connections', arg: 'N', key: 'limits.maxConnections', kind: 'int', help: 'open connections per stream listener; more are refused and counted (default 16384)' },
  { flag: 'shutdown-grace', arg: 'DURATION', key: 'limits.shutdownGrace', kind: 'string', help: 'on SIGTERM, time open connections get to finish sending (default 5s)' },
  { flag: 'high-watermark', arg: 'SIZE', key: 'pipeline.highWatermark', kind: 'string', help: 'queued bytes at which stream sockets are paused and UDP drops (default 64MiB)' },
  { flag: 'low-watermark', arg: 'SIZE', key: 'pipeline.lowWatermark', kind: 'string', help: 'queued bytes under which paused sockets resume (default 32MiB)' },
  { flag: 'no-store', arg: '', key: 'store.enabled', kind: 'bool', help: 'do not write records to the embedded store in DATA_DIR/store (only the --output outputs get them)' },
  { flag: 'fsync', arg: 'MODE', key: 'store.fsync', kind: 'string', help: 'store durability: always (fdatasync before each ack, grouped), interval (one fdatasync per --fsync-interval, acks after it) or never (acks after write, the kernel syncs) (default always)' },
  { flag: 'fsync-interval', arg: 'DURATION', key: 'store.fsyncInterval', kind: 'string', help: 'with --fsync interval: how often the store calls fdatasync (default 10ms)' },
  { flag: 'compression-level', arg: 'N', key: 'store.compressionLevel', kind: 'int', help: 'zstd level of store blocks, 1-22 (default 5)' },
  { flag: 'block-size', arg: 'SIZE', key: 'store.blockSize', kind: 'string', help: 'store blocks are sealed at about this many bytes of records: larger compresses better, smaller skips finer (default 8MiB)' },
  { flag: 'retention-age', arg: 'DURATION', key: 'store.retention.maxAge', kind: 'string', help: 'delete records older than this (whole UTC hours), 0 = keep (default 7d)' },
  { flag: 'retention-size', arg: 'SIZE', key: 'store.retention.maxSize', kind: 'string', help: 'delete the oldest segments while the store takes more than this, 0 = no limit (default 0)' },
  { flag: 'query-workers', arg: 'N', key: 'query.workers', kind: 'int', help: 'threads that run queries, off the event loop (default: half the cores, at least 1)' },
  { flag: 'query-time-limit', arg: 'DURATION', key: 'query.timeLimit', kind: 'string', help: 'stop a query after this long (default 30s)' },
  { flag: 'ndjson-fsync-interval', arg: 'DURATION', key: 'ndjson.fsyncInterval', kind: 'string', help: 'how often an NDJSON output calls fdatasync (default 200ms)' },
  { flag: 'log-level', arg: 'LEVEL', key: 'log.level', kind: 'string', help: 'debug, info, warn or error (default info)' },
  { flag: 'log-format', arg: 'FORMAT', key: 'log.format', kind: 'string', help: 'logfmt or json (default logfmt)' },
];

/** `max-frame` → `RINGLOG_MAX_FRAME`; `no-nul-delimiter` → `RINGLOG_NUL_DELIMITER` (true/false). */
export function envName(def: OptionDef): string {
  const flag = def.kind === 'bool' ? def.flag.replace(/^no-/, '') : def.flag;
  return 'RINGLOG_' + flag.toUpperCase().replace(/-/g, '_');
}

/** The camelCase property commander gives a flag: `max-frame` → `maxFrame`, `no-nul-delimiter` → `nulDelimiter`. */
function commanderKey(def: OptionDef): string {
  const flag = def.kind === 'bool' ? def.flag.replace(/^no-/, '') : def.flag;
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

type Obj = Record<string, unknown>;

function setPath(obj: Obj, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Obj;
  }
  cur[parts[parts.length - 1]!] = value;
}

function readConfigFile(path: string): Obj {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold an object at the top level`);
  return parsed as Obj;
}

/** Raw values of one source (env or flags), keyed by OptionDef.flag. */
type RawValues = Map<string, string | string[] | boolean | number>;

function fromEnv(env: NodeJS.ProcessEnv): RawValues {
  const out: RawValues = new Map();
  for (const def of SERVE_OPTIONS) {
    const v = env[envName(def)];
    if (v === undefined || v === '') continue;
    if (def.kind === 'list') out.set(def.flag, v.split(',').map((s) => s.trim()).filter(Boolean));
    else if (def.kind === 'bool') {
      if (!/^(true|false|1|0)$/i.test(v)) throw new ConfigError(`${envName(def)}: must be true or false; got ${JSON.stringify(v)}`);
      out.set(def.flag, /^(true|1)$/i.test(v));
    } else if (def.kind === 'int') {
      if (!/^\d+$/.test(v)) throw new ConfigError(`${envName(def)}: must be a whole number; got ${JSON.stringify(v)}`);
      out.set(def.flag, Number(v));
    } else out.set(def.flag, v);
  }
  return out;
}

function fromFlags(opts: Obj): RawValues {
  const out: RawValues = new Map();
  for (const def of SERVE_OPTIONS) {
    const v = opts[commanderKey(def)];
    if (v === undefined) continue;
    // commander sets negatable booleans to true by default: only `false` was asked for.
    if (def.kind === 'bool' && v === true) continue;
    if (def.kind === 'int' && typeof v === 'string') {
      if (!/^\d+$/.test(v)) throw new ConfigError(`--${def.flag}: must be a whole number; got ${JSON.stringify(v)}`);
      out.set(def.flag, Number(v));
      continue;
    }
    out.set(def.flag, v as string | string[] | boolean);
  }
  return out;
}

/** Applies one source's raw values onto the merged object. */
function apply(merged: Obj, raw: RawValues): void {
  const listeners: Obj[] = [];
  for (const kind of LISTENER_FLAGS) {
    const addrs = raw.get(kind) as string[] | undefined;
    for (const a of addrs ?? []) {
      listeners.push(kind === 'unix' || kind === 'unix-dgram' ? { type: kind, path: a } : { type: kind, address: a });
    }
  }
  if (listeners.length > 0) merged.listeners = listeners;
  for (const def of SERVE_OPTIONS) {
    if (def.key === 'listeners' || !raw.has(def.flag)) continue;
    const v = raw.get(def.flag);
    if (def.flag === 'http' && v === 'off') merged.http = false;
    else setPath(merged, def.key, v);
  }
}

/**
 * Fills what listeners leave unset from the top-level defaults: cert/key/ca of TLS
 * listeners (`tls`, --tls-cert…), the mode of Unix sockets (`socketMode`).
 */
function resolveListenerDefaults(merged: Obj): void {
  const defaults = merged.tls as Obj | undefined;
  if (!Array.isArray(merged.listeners)) return;
  for (const l of merged.listeners as Obj[]) {
    if ((l.type === 'unix' || l.type === 'unix-dgram') && merged.socketMode !== undefined && l.mode === undefined) l.mode = merged.socketMode;
    if (l.type !== 'tls') continue;
    if (defaults?.cert !== undefined && l.cert === undefined) l.cert = defaults.cert;
    if (defaults?.key !== undefined && l.key === undefined) l.key = defaults.key;
    if (defaults?.ca !== undefined && l.ca === undefined) {
      l.ca = defaults.ca;
      l.requireClientCert = true;
    }
  }
}

function describeKey(path: (string | number)[]): string {
  const key = path.join('.');
  const def = SERVE_OPTIONS.find((d) => d.key === key);
  return def ? `${key} (--${def.flag}, ${envName(def)})` : key || '(top level)';
}

export interface LoadOptions {
  /** Parsed commander options of `serve`. */
  flags?: Obj;
  env?: NodeJS.ProcessEnv;
  /** Path of a config file; defaults to RINGLOG_CONFIG. */
  configFile?: string;
}

/** Merges every source and validates the result; throws ConfigError naming the bad key. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.configFile ?? env.RINGLOG_CONFIG;
  const merged: Obj = file ? readConfigFile(file) : {};
  apply(merged, fromEnv(env));
  apply(merged, fromFlags(opts.flags ?? {}));
  resolveListenerDefaults(merged);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${describeKey(i.path as (string | number)[])}: ${i.message}`);
    throw new ConfigError(`invalid configuration${file ? ` (file ${file})` : ''}:\n${lines.join('\n')}`);
  }
  return result.data;
}
