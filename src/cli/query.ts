/**
 * `ringlog query`: searches a data directory's store, read-only, while a server may be
 * writing it (docs/storage.md, "Reading"). Words are matched as whole words,
 * case-insensitively, in the message and the field values, and use the block index;
 * --contains is an exact substring of the message.
 *
 *   ringlog query timeout --since 1h --field host=web-1 --severity err
 *   ringlog query --json --oldest --limit 0 > everything.ndjson
 */
import { Command, Option } from 'commander';
import { StoreReader, newStats, type ScanQuery, type TimePoint } from '../store/store-reader.js';
import { recordToJson, formatNs } from '../record/record-json.js';
import { LEVEL_NAMES, SEVERITY_NAMES } from '../record/severity.js';
import { parseDuration } from '../config/units.js';
import { RinglogError } from '../errors.js';
import type { LogRecord } from '../record/record.js';

interface QueryCliOptions {
  dataDir: string;
  since?: string;
  until?: string;
  field: string[];
  host?: string;
  app?: string;
  contains: string[];
  severity?: string;
  limit: string;
  oldest?: boolean;
  json?: boolean;
  stats?: boolean;
}

function invalid(message: string): RinglogError {
  return new RinglogError('RL_QUERY_INVALID', message);
}

/** A time given as a duration before now (`1h`, `30m`) or as RFC 3339 text / epoch ms. */
export function parseWhen(text: string, now: number, what: string): TimePoint {
  const ago = parseDuration(text);
  if (ago !== null && !/^\d{13,}$/.test(text.trim())) return { ms: now - ago, ns: 0 };
  if (/^\d{13,}$/.test(text.trim())) return { ms: Number(text.trim()), ns: 0 };
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/i.exec(text.trim());
  const ms = m ? Date.parse(`${m[1]}${m[3] ?? 'Z'}`) : Date.parse(text);
  if (!Number.isFinite(ms)) throw invalid(`${what}: "${text}" is neither a duration (30m, 2h, 7d) nor a time (2026-11-22T10:00:00Z)`);
  if (!m || m[2] === undefined) return { ms, ns: 0 };
  const frac = m[2].padEnd(9, '0');
  return { ms: ms + Number(frac.slice(0, 3)), ns: Number(frac.slice(3)) };
}

/** Severity name or number → 0..7. */
export function parseSeverity(text: string): number {
  const t = text.trim().toLowerCase();
  if (/^[0-7]$/.test(t)) return Number(t);
  const n = LEVEL_NAMES.get(t);
  if (n === undefined) throw invalid(`--severity: "${text}" is not a level (emerg alert crit err warning notice info debug, or 0-7)`);
  return n;
}

export function buildQuery(words: string[], opts: QueryCliOptions, now = Date.now()): ScanQuery {
  const fields = opts.field.map((f) => {
    const i = f.indexOf('=');
    if (i <= 0) throw invalid(`--field: "${f}" must be NAME=VALUE`);
    const name = f.slice(0, i);
    let value = f.slice(i + 1);
    if (name === 'severity') value = String(parseSeverity(value));
    return { name, value };
  });
  if (opts.host !== undefined) fields.push({ name: 'host', value: opts.host });
  if (opts.app !== undefined) fields.push({ name: 'app', value: opts.app });
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 0) throw invalid(`--limit: "${opts.limit}" must be a whole number (0 = no limit)`);
  const from = opts.since !== undefined ? parseWhen(opts.since, now, '--since') : null;
  const to = opts.until !== undefined ? parseWhen(opts.until, now, '--until') : null;
  if (from && to && (from.ms > to.ms || (from.ms === to.ms && from.ns >= to.ns))) throw invalid('--since must be before --until');
  return {
    from, to, words, contains: opts.contains, fields,
    maxSeverity: opts.severity !== undefined ? parseSeverity(opts.severity) : null,
    order: opts.oldest ? 'oldest' : 'newest',
    limit: limit === 0 ? Infinity : limit,
  };
}

/** One line for people: time, severity, host, app[pid], message, then the fields. */
export function formatPretty(r: LogRecord): string {
  const app = r.app !== null ? `${r.app}${r.procid !== null ? `[${r.procid}]` : ''}` : '-';
  let line = `${formatNs(r.timestamp)} ${SEVERITY_NAMES[r.severity]!.padEnd(7)} ${r.host ?? '-'} ${app}: ${r.message.replace(/\n/g, '\n    ')}`;
  const keys = Object.keys(r.fields);
  if (keys.length > 0) line += '  ' + keys.map((k) => `${k}=${/^[^\s"=]+$/.test(r.fields[k]!) ? r.fields[k] : JSON.stringify(r.fields[k])}`).join(' ');
  return line;
}

export function queryCommand(): Command {
  const collect = (v: string, prev: string[]) => [...prev, v];
  const cmd = new Command('query')
    .description('search the store of a data directory (read-only; safe while a server writes it)')
    .argument('[words...]', 'words the record must contain, in its message or a field value (whole words, any case); all of them')
    .addOption(new Option('-d, --data-dir <DIR>', 'data directory').env('RINGLOG_DATA_DIR').default('./ringlog-data'))
    .option('--since <WHEN>', 'records at or after WHEN: a duration ago (30m, 2h, 7d) or a time (2026-11-22T10:00:00Z)')
    .option('--until <WHEN>', 'records before WHEN (same forms)')
    .option('--field <NAME=VALUE>', 'a field equals a value exactly: host, app, procid, msgid, facility, severity or any field name (repeatable)', collect, [])
    .option('--host <HOST>', 'same as --field host=HOST')
    .option('--app <APP>', 'same as --field app=APP')
    .option('--contains <TEXT>', 'the message contains TEXT exactly (case-sensitive substring; repeatable)', collect, [])
    .option('--severity <LEVEL>', 'records at LEVEL or more severe (err, warning, 3…)')
    .option('--limit <N>', 'at most N records; 0 = all', '100')
    .option('--oldest', 'oldest first (default: newest first)')
    .option('--json', 'one JSON object per line (the record form of docs/record.md)')
    .option('--stats', 'print how many blocks were read and skipped to stderr');
  cmd.action((words: string[], opts: QueryCliOptions) => {
    const q = buildQuery(words, opts);
    const reader = StoreReader.open(opts.dataDir, (msg) => process.stderr.write(`ringlog query: warning: ${msg}\n`));
    const stats = newStats();
    const out: string[] = [];
    const flush = () => {
      if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
      out.length = 0;
    };
    for (const r of reader.scan(q, stats)) {
      out.push(opts.json ? recordToJson(r) : formatPretty(r));
      if (out.length >= 1000) flush();
    }
    flush();
    if (opts.stats) {
      process.stderr.write(`blocks=${stats.blocks} skipped_by_time=${stats.skippedByTime} skipped_by_index=${stats.skippedByIndex} read=${stats.read} damaged=${stats.damaged} wal_records=${stats.walRecords} matched=${stats.matched}\n`);
    }
  });
  return cmd;
}
