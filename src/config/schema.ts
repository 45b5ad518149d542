/**
 * The one configuration schema. Every source (built-in defaults, a JSON/YAML file,
 * RINGLOG_* environment variables, command-line flags) is merged into one plain
 * object and validated here, so a bad value gets the same message wherever it came from.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseDuration, parseSize, formatSize, formatDuration } from './units.js';
import { parseHostPort } from './address.js';
import { FORMATS } from '../protocols/formats/format.js';

/** A size in bytes, given as a number or a string with a unit (`64KiB`). */
function size(min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = parseSize(v);
    if (n === null || n < min || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a size between ${formatSize(min)} and ${formatSize(max)} (a number of bytes or e.g. "64KiB", "16MiB"); got ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    return n;
  });
}

/** A duration in milliseconds, given as a number or a string with a unit (`30s`). */
function duration(min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = parseDuration(v);
    if (n === null || n < min || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a duration between ${formatDuration(min)} and ${formatDuration(max)} (milliseconds or e.g. "30s", "5m"); got ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    return n;
  });
}

const hostPort = z.string().refine((s) => parseHostPort(s) !== null, {
  message: 'must be an address "host:port", "[ipv6]:port" or ":port" (port 0-65535)',
});

const socketMode = z.string().regex(/^0?[0-7]{3}$/, 'must be an octal file mode such as "0666"');

export const FRAMING_MODES = ['auto', 'lf', 'octet'] as const;
export const OVERSIZE_ACTIONS = ['truncate', 'drop'] as const;
export const LISTENER_TYPES = ['tcp', 'tls', 'udp', 'unix', 'unix-dgram'] as const;

const KiB = 1024;
/** Half the cores, at least one: queries should not take the cores ingestion needs. */
const DEFAULT_QUERY_WORKERS = Math.max(1, Math.floor(availableParallelism() / 2));
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const DAY = 86_400_000;

/** Options every listener may set; unset ones inherit `limits`. */
const listenerCommon = {
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -').optional(),
  maxFrame: size(64, 16 * MiB).optional(),
  onOversize: z.enum(OVERSIZE_ACTIONS).optional(),
  /** How frames become records; unset inherits `parsing.format`. */
  format: z.enum(FORMATS).optional(),
};

/** A regular expression given as text; compiled here so a bad one is a config error. */
const regexText = z.string().min(1).refine(
  (p) => {
    try {
      new RegExp(p);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a valid JavaScript regular expression' },
);

/** Joining continuation lines (stack traces) into one record; docs/record.md, "Multiline records". */
const multilineSchema = z
  .object({
    /** indent: lines starting with a space or tab (and Java/Python trace lines) continue a record; pattern: lines matching `pattern` start one. */
    mode: z.enum(['indent', 'pattern']),
    pattern: regexText.optional(),
    maxLines: z.number().int().min(2).max(100_000).default(500),
    /** Default: the listener's maxFrame. */
    maxBytes: size(64, 16 * MiB).optional(),
    /** A pending record is emitted when no line arrived for this long. */
    timeout: duration(1, 600_000).default(1_000),
  })
  .strict()
  .refine((m) => m.mode !== 'pattern' || m.pattern !== undefined, { message: 'mode "pattern" needs a "pattern" (a regular expression matching the first line of a record)', path: ['pattern'] });

/** Framing applies to streams only: a datagram is always one frame. */
const streamCommon = {
  ...listenerCommon,
  multiline: multilineSchema.optional(),
  framing: z.enum(FRAMING_MODES).optional(),
  nulDelimiter: z.boolean().optional(),
  idleTimeout: duration(0, 30 * DAY).optional(),
  maxConnections: z.number().int().min(1).max(1_000_000).optional(),
};

const tcpListener = z.object({ type: z.literal('tcp'), address: hostPort, ...streamCommon }).strict();
const tlsListener = z
  .object({
    type: z.literal('tls'),
    address: hostPort,
    ...streamCommon,
    cert: z.string({ error: 'a TLS listener needs a PEM certificate file (--tls-cert, or "cert" on the listener)' }).min(1),
    key: z.string({ error: 'a TLS listener needs a PEM private key file (--tls-key, or "key" on the listener)' }).min(1),
    ca: z.string().min(1).optional(),
    /** Ask clients for a certificate and refuse those the CA does not sign (mutual TLS). */
    requireClientCert: z.boolean().optional(),
    handshakeTimeout: duration(100, 600_000).optional(),
  })
  .strict();
const udpListener = z
  .object({ type: z.literal('udp'), address: hostPort, ...listenerCommon, recvBufferSize: size(4 * KiB, 1 * GiB).optional() })
  .strict();
const unixListener = z
  .object({
    type: z.literal('unix'),
    path: z.string().min(1, 'must be a file system path'),
    ...streamCommon,
    /** File mode of the socket, e.g. "0666" so that every local process can log (as /dev/log). */
    mode: socketMode.optional(),
  })
  .strict();
const unixDgramListener = z
  .object({
    type: z.literal('unix-dgram'),
    path: z.string().min(1, 'must be a file system path'),
    ...listenerCommon,
    mode: socketMode.optional(),
  })
  .strict();

export const listenerSchema = z.discriminatedUnion('type', [tcpListener, tlsListener, udpListener, unixListener, unixDgramListener]);

const outputSpec = z.string().refine((s) => s === 'null' || /^ndjson:.+/.test(s), {
  message: 'must be "ndjson:PATH" or "null"',
});

export const configSchema = z
  .object({
    listeners: z.array(listenerSchema).default([
      { type: 'tcp', address: ':5140' },
      { type: 'udp', address: ':5140' },
    ]),
    http: z
      .object({
        address: hostPort,
        /**
         * API tokens (docs/api.md, "Authentication"). None: the API is open. With any,
         * every request to the ingest and query endpoints must carry one allowed to do it.
         */
        tokens: z
          .array(z.object({ name: z.string().min(1).optional(), token: z.string().min(16, 'must be at least 16 characters'), scope: z.enum(['ingest', 'query', 'all']) }).strict())
          .default([]),
        /** HTTPS on the HTTP port: PEM certificate (chain) and key. */
        tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
      })
      .strict()
      .or(z.literal(false))
      .default({ address: ':5080', tokens: [] }),
    dataDir: z.string().min(1).default('./ringlog-data'),
    /** Defaults for TLS listeners that do not set their own cert/key/ca (--tls-cert, --tls-key, --tls-ca). */
    tls: z
      .object({ cert: z.string().min(1).optional(), key: z.string().min(1).optional(), ca: z.string().min(1).optional() })
      .strict()
      .optional(),
    /** File mode for Unix socket listeners that do not set their own (--socket-mode). */
    socketMode: socketMode.optional(),
    outputs: z.array(outputSpec).default([]),
    limits: z
      .object({
        /** Largest frame; longer ones are truncated or dropped. 64 KiB is syslog-ng's and rsyslog's practical ceiling. */
        maxFrame: size(64, 16 * MiB).default(64 * KiB),
        onOversize: z.enum(OVERSIZE_ACTIONS).default('truncate'),
        /** A stream connection that sends nothing for this long is closed; 0 disables. */
        idleTimeout: duration(0, 30 * DAY).default(300_000),
        /** Per stream listener; over it new connections are refused and counted. */
        maxConnections: z.number().int().min(1).max(1_000_000).default(16_384),
        /** On SIGTERM, how long open connections may keep sending before they are closed. */
        shutdownGrace: duration(0, 600_000).default(5_000),
      })
      .strict()
      .default({ maxFrame: 64 * KiB, onOversize: 'truncate', idleTimeout: 300_000, maxConnections: 16_384, shutdownGrace: 5_000 }),
    parsing: z
      .object({
        /** Format of listeners that do not set their own: auto detects per frame (docs/record.md). */
        format: z.enum(FORMATS).default('auto'),
      })
      .strict()
      .default({ format: 'auto' }),
    gelf: z
      .object({
        /** Largest GELF message after decompression and reassembly; larger ones are dropped (zip bombs). */
        maxMessage: size(1 * KiB, 64 * MiB).default(1 * MiB),
        /** Chunked messages being reassembled at once, per listener; over it the oldest is dropped. */
        maxPendingMessages: z.number().int().min(1).max(1_000_000).default(1_000),
        /** Bytes of chunks held for reassembly, per listener. */
        maxPendingBytes: size(64 * KiB, 4 * GiB).default(32 * MiB),
        /** All chunks of a message must arrive within this (GELF 1.1 says 5 seconds). */
        chunkTimeout: duration(100, 600_000).default(5_000),
      })
      .strict()
      .default({ maxMessage: 1 * MiB, maxPendingMessages: 1_000, maxPendingBytes: 32 * MiB, chunkTimeout: 5_000 }),
    framing: z
      .object({
        mode: z.enum(FRAMING_MODES).default('auto'),
        nulDelimiter: z.boolean().default(true),
      })
      .strict()
      .default({ mode: 'auto', nulDelimiter: true }),
    pipeline: z
      .object({
        /** Bytes queued between the edge and the outputs before stream sockets are paused. */
        highWatermark: size(64 * KiB, 64 * GiB).default(64 * MiB),
        /** Paused sockets resume once the queue is back under this. */
        lowWatermark: size(0, 64 * GiB).default(32 * MiB),
      })
      .strict()
      .default({ highWatermark: 64 * MiB, lowWatermark: 32 * MiB })
      .refine((p) => p.lowWatermark < p.highWatermark, {
        message: 'lowWatermark must be smaller than highWatermark',
        path: ['lowWatermark'],
      }),
    store: z
      .object({
        /** The embedded store in DATA_DIR/store (docs/storage.md); off only for benchmarks of the edge. */
        enabled: z.boolean().default(true),
        /** always: fdatasync before every ack (group commit); interval: one fdatasync per fsyncInterval, acks after it; never: acks after write(2). */
        fsync: z.enum(['always', 'interval', 'never']).default('always'),
        fsyncInterval: duration(1, 60_000).default(10),
        /** zstd level of blocks: 5 compresses logs ~5% better than 3 for ~25% more worker CPU on varied logs (docs/benchmarks.md); 1 is fastest. */
        compressionLevel: z.number().int().min(1).max(22).default(5),
        /** A block is sealed once its records reach about this many bytes (its columns before compression are about 2/3 of that). */
        blockSize: size(16 * KiB, 16 * MiB).default(8 * MiB),
        /** Blocks are committed (synced, checkpointed, WAL reclaimed) after this many bytes of records… */
        commitSize: size(1 * MiB, 1 * GiB).default(64 * MiB),
        /** …or this long after the first uncommitted record. */
        commitInterval: duration(10, 600_000).default(30_000),
        /** Bytes copied into the store but not yet built into blocks; past it, writes wait (backpressure). */
        maxPending: size(1 * MiB, 4 * GiB).default(64 * MiB),
        /** Prepare each next WAL file ahead, recycled or zero-filled (docs/storage.md, "Write-ahead log"); off on copy-on-write file systems, where it does not help. */
        walPrepare: z.boolean().default(true),
        /** A WAL file is closed and the next one started past this size; the WAL takes about commitSize plus three of them (docs/storage.md, "Write-ahead log"). */
        walFileSize: size(1 * MiB, 1 * GiB).default(64 * MiB),
        /**
         * Seal blocks (encode, compress, index) in a thread of their own, in parallel with the
         * store worker's building of blocks (docs/architecture.md). `auto`: when the machine has
         * two cores or more.
         */
        sealThread: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        /**
         * Parse WAL entries in a thread of their own, in parallel with the store worker's
         * building of blocks (docs/architecture.md). `auto`: when the machine has more than two cores.
         */
        parseThread: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        retention: z
          .object({
            /** Partitions (UTC hours) older than this are deleted; 0 keeps everything. */
            maxAge: duration(0, 100 * 365 * DAY).default(7 * DAY),
            /** Oldest segments are deleted while the blocks take more than this; 0 = no limit. */
            maxSize: size(0, 1024 * 1024 * GiB).default(0),
            /** How often retention runs (after a commit). */
            checkInterval: duration(1_000, DAY).default(60_000),
          })
          .strict()
          .default({ maxAge: 7 * DAY, maxSize: 0, checkInterval: 60_000 }),
      })
      .strict()
      .default({
        enabled: true, fsync: 'always', fsyncInterval: 10, compressionLevel: 5, blockSize: 8 * MiB, commitSize: 64 * MiB,
        commitInterval: 30_000, maxPending: 64 * MiB, walPrepare: true, walFileSize: 64 * MiB, sealThread: 'auto', parseThread: 'auto', retention: { maxAge: 7 * DAY, maxSize: 0, checkInterval: 60_000 },
      }),
    ingest: z
      .object({
        /** Largest HTTP ingest body, after decompression too (413 past it). */
        maxBody: size(1 * KiB, 4 * GiB).default(64 * MiB),
        /** Largest item (line, JSON array element) of a body; longer ones are rejected alone. */
        maxItem: size(64, 16 * MiB).default(1 * MiB),
        /** A body that sends nothing for this long is cut off (408). */
        bodyTimeout: duration(100, 600_000).default(10_000),
        /** How long a request waits for its records to be durable before it is answered 503. */
        ackTimeout: duration(100, 600_000).default(30_000),
      })
      .strict()
      .default({ maxBody: 64 * MiB, maxItem: 1 * MiB, bodyTimeout: 10_000, ackTimeout: 30_000 }),
    query: z
      .object({
        /**
         * Query worker threads: queries run on them, never on the event loop. Default:
         * half the cores (at least 1). Each follows the WAL and parses the records not yet
         * in committed blocks once more, so more workers cost ingestion CPU under load.
         */
        workers: z.number().int().min(1).max(64).default(DEFAULT_QUERY_WORKERS),
        /** Queries waiting for a worker, at most; more are answered 429 (RL_QUERY_BUSY). */
        maxQueued: z.number().int().min(0).max(10_000).default(16),
        /** A query is stopped after this long (RL_QUERY_TIMEOUT). */
        timeLimit: duration(100, 3_600_000).default(30_000),
        /** Longest query text, in characters. */
        maxLength: z.number().int().min(16).max(1_000_000).default(4096),
        /** Records a search returns when the request sets no limit. */
        defaultLimit: z.number().int().min(1).max(100_000_000).default(1000),
        /** Most records one search request may ask for; 0 = no ceiling (a search streams, so memory stays bounded either way). */
        maxLimit: z.number().int().min(0).max(1_000_000_000).default(0),
      })
      .strict()
      .default({ workers: DEFAULT_QUERY_WORKERS, maxQueued: 16, timeLimit: 30_000, maxLength: 4096, defaultLimit: 1000, maxLimit: 0 }),
    tail: z
      .object({
        /** Live tail subscribers at once; more are answered 429. */
        maxSubscribers: z.number().int().min(1).max(100_000).default(256),
        /** Bytes waiting in a subscriber's socket before its records are dropped and counted. */
        bufferSize: size(4 * KiB, 1 * GiB).default(1 * MiB),
        /** How often the tail reads the WAL for new records. */
        pollInterval: duration(5, 10_000).default(25),
      })
      .strict()
      .default({ maxSubscribers: 256, bufferSize: 1 * MiB, pollInterval: 25 }),
    ndjson: z
      .object({
        /** The NDJSON output calls fdatasync this often (and at shutdown). */
        fsyncInterval: duration(1, 60_000).default(200),
      })
      .strict()
      .default({ fsyncInterval: 200 }),
    runtime: z
      .object({
        /**
         * V8's heap growing factor for `ringlog serve`, as a percentage over the live
         * old generation: the next full GC starts once the heap has grown by this much.
         * 0 leaves V8's own adaptive factor (docs/operations.md, "Garbage collection").
         */
        heapGrowthPercent: z.number().int().min(0).max(1000).default(300),
      })
      .strict()
      .default({ heapGrowthPercent: 300 }),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        format: z.enum(['logfmt', 'json']).default('logfmt'),
      })
      .strict()
      .default({ level: 'info', format: 'logfmt' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    listenerNames(c.listeners).forEach((name, i) => {
      if (seen.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['listeners', i, 'name'], message: `listeners ${seen.get(name)} and ${i} are both named "${name}"; give them distinct names` });
      } else seen.set(name, i);
    });
  });

/**
 * Listener names as metrics and logs show them: the `name` given, else the type,
 * numbered from the second listener of a type on (`tcp`, `tcp-2`, `udp`…).
 */
export function listenerNames(listeners: readonly { type: string; name?: string | undefined }[]): string[] {
  const perType = new Map<string, number>();
  return listeners.map((l) => {
    const n = (perType.get(l.type) ?? 0) + 1;
    perType.set(l.type, n);
    return l.name ?? (n === 1 ? l.type : `${l.type}-${n}`);
  });
}

export type Config = z.infer<typeof configSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
