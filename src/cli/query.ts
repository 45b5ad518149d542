/**
 * `ringlog query` and `ringlog tail` (docs/query.md, docs/api.md): search, count,
 * histogram and live tail, either through a running server's HTTP API (`--server`)
 * or by opening a data directory read-only (safe while a server writes it).
 *
 *   ringlog query 'severity<=err host:web-1 "timeout"' --since 1h
 *   ringlog query 'app:nginx' --count --since 1d
 *   ringlog query 'error' --hits --since 6h --step 10m
 *   ringlog query --json --oldest --limit 0 > everything.ndjson
 *   ringlog tail 'app:nginx' --server http://127.0.0.1:5080
 */
import { styleText } from 'node:util';
import { Command, Option } from 'commander';
import { StoreReader, type ScanStats } from '../store/store-reader.js';
import { recordToJson } from '../record/record-json.js';
import { LEVEL_NAMES, SEVERITY_NAMES } from '../record/severity.js';
import { RinglogError } from '../errors.js';
import { parseQuery, QuerySyntaxError, regexLiteral } from '../query/parser.js';
import { jobFromParams } from '../api/query-api.js';
import { runJob } from '../query/jobs.js';
import { storeRoot } from '../store/store.js';
import { WalTail } from '../query/wal-tail.js';

interface QueryCliOptions {
  dataDir: string;
  server?: string;
  since?: string;
  until?: string;
  field: string[];
  host?: string;
  app?: string;
  contains: string[];
  severity?: string;
  limit: string;
  oldest?: boolean;
  cursor?: string;
  json?: boolean;
  count?: boolean;
  hits?: boolean;
  step?: string;
  facets: string[];
  top: string;
  color?: boolean;
  stats?: boolean;
}

function invalid(message: string): RinglogError {
  return new RinglogError('RL_QUERY_INVALID', message);
}

/** Severity name or number → 0..7. */
export function parseSeverity(text: string): number {
  const t = text.trim().toLowerCase();
  if (/^[0-7]$/.test(t)) return Number(t);
  const n = LEVEL_NAMES.get(t);
  if (n === undefined) throw invalid(`--severity: "${text}" is not a level (emerg alert crit err warning notice info debug, or 0-7)`);
  return n;
}

/**
 * The query text: the arguments joined by spaces, then the shorthand options ANDed as
 * query terms (`--host web-1` is `host:"web-1"`), so that both modes send one query.
 */
export function queryText(args: string[], opts: QueryCliOptions): string {
  const parts: string[] = [];
  const text = args.join(' ').trim();
  const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  for (const f of opts.field) {
    const i = f.indexOf('=');
    if (i <= 0) throw invalid(`--field: "${f}" must be NAME=VALUE`);
    const name = f.slice(0, i);
    const value = f.slice(i + 1);
    if (name === 'severity') parts.push(`severity:${parseSeverity(value)}`);
    else parts.push(`${/^[A-Za-z0-9_.@-]+$/.test(name) ? name : quote(name)}:${quote(value)}`);
  }
  if (opts.host !== undefined) parts.push(`host:${quote(opts.host)}`);
  if (opts.app !== undefined) parts.push(`app:${quote(opts.app)}`);
  for (const c of opts.contains) parts.push(`message:/${regexLiteral(c)}/`);
  if (opts.severity !== undefined) parts.push(`severity<=${parseSeverity(opts.severity)}`);
  if (text === '') return parts.join(' ');
  // With shorthand options the query is put in parentheses, so that its OR binds inside.
  return parts.length === 0 ? text : `(${text}) ${parts.join(' ')}`;
}

/** Request parameters shared by both modes. */
function params(args: string[], opts: QueryCliOptions): URLSearchParams {
  const p = new URLSearchParams();
  p.set('query', queryText(args, opts));
  if (opts.since !== undefined) p.set('since', opts.since);
  if (opts.until !== undefined) p.set('until', opts.until);
  return p;
}

type Mode = 'query' | 'count' | 'hits' | 'facets';

function modeOf(opts: QueryCliOptions): Mode {
  const modes = [opts.count && 'count', opts.hits && 'hits', opts.facets.length > 0 && 'facets'].filter(Boolean) as Mode[];
  if (modes.length > 1) throw invalid(`--${modes.join(', --')}: choose one`);
  return modes[0] ?? 'query';
}

/** One line for people: time, severity, host, app[pid], message, then the fields. */
export function formatPretty(r: RecordJson, color: boolean): string {
  // The caller decided on color (terminal, --color, NO_COLOR): styleText must not decide again.
  const paint = (style: Parameters<typeof styleText>[0], s: string) => (color ? styleText(style, s, { validateStream: false }) : s);
  const sev = SEVERITY_NAMES[r.severity] ?? String(r.severity);
  const sevStyle = r.severity <= 3 ? 'red' : r.severity === 4 ? 'yellow' : r.severity === 5 ? 'cyan' : r.severity === 7 ? 'gray' : 'green';
  const app = r.app !== undefined ? `${r.app}${r.procid !== undefined ? `[${r.procid}]` : ''}` : '-';
  let line = `${paint('dim', r.timestamp)} ${paint(sevStyle, sev.padEnd(7))} ${paint('bold', r.host ?? '-')} ${paint('blue', app)}: ${r.message.replace(/\n/g, '\n    ')}`;
  const fields = r.fields ?? {};
  const keys = Object.keys(fields);
  if (keys.length > 0) line += '  ' + paint('dim', keys.map((k) => `${k}=${/^[^\s"=]+$/.test(fields[k]!) ? fields[k] : JSON.stringify(fields[k])}`).join(' '));
  return line;
}

/** The JSON form of a record (docs/record.md), as the API sends it. */
interface RecordJson {
  timestamp: string;
  host?: string;
  app?: string;
  procid?: string;
  severity: number;
  message: string;
  fields?: Record<string, string>;
}

/** Writes lines to stdout in batches, waiting when the pipe is full. */
class Out {
  private buf: string[] = [];
  async line(s: string): Promise<void> {
    this.buf.push(s);
    if (this.buf.length >= 500) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const text = this.buf.join('\n') + '\n';
    this.buf = [];
    if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
  }
}

function serverUrl(base: string, path: string, p: URLSearchParams): string {
  const u = new URL(path, base.endsWith('/') ? base : `${base}/`);
  u.search = p.toString();
  return u.toString();
}

async function fetchOrExplain(url: string, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (err) {
    throw new Error(`cannot reach ${new URL(url).origin}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  if (!res.ok) {
    let body: { error?: { code?: string; message?: string; position?: number } } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      /* not JSON */
    }
    const e = new RinglogError((body.error?.code as 'RL_QUERY_INVALID') ?? 'RL_INTERNAL', body.error?.message ?? `HTTP ${res.status}`);
    throw e;
  }
  return res;
}

/** Lines of a streamed response body. */
async function* lines(res: Response): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}

async function runQueryCommand(args: string[], opts: QueryCliOptions): Promise<void> {
  const mode = modeOf(opts);
  const p = params(args, opts);
  const color = opts.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
  const out = new Out();
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 0) throw invalid(`--limit: "${opts.limit}" must be a whole number (0 = no limit)`);
  const order = opts.oldest ? 'oldest' : 'newest';
  p.set('limit', String(limit));
  p.set('order', order);
  if (opts.cursor) p.set('cursor', opts.cursor);
  if (opts.step) p.set('step', opts.step);
  for (const f of opts.facets) p.append('field', f);
  p.set('top', opts.top);

  let result: Record<string, unknown> & { cursor?: string | null; stats?: unknown };
  if (opts.server !== undefined) {
    const res = await fetchOrExplain(serverUrl(opts.server, `api/v1/${mode}`, p));
    if (mode === 'query') {
      type Meta = { cursor: string | null; stats: unknown; matched: number };
      let meta: Meta | null = null as Meta | null;
      for await (const l of lines(res)) {
        if (l.startsWith('{"_meta"')) meta = (JSON.parse(l) as { _meta: Meta })._meta;
        else if (l.startsWith('{"_error"')) {
          const e = (JSON.parse(l) as { _error: { code: string; message: string } })._error;
          await out.flush();
          throw new RinglogError(e.code as 'RL_QUERY_TIMEOUT', e.message);
        } else await out.line(opts.json ? l : formatPretty(JSON.parse(l) as RecordJson, color));
      }
      result = { cursor: meta?.cursor ?? null, stats: meta?.stats };
    } else result = (await res.json()) as typeof result;
  } else {
    const reader = StoreReader.open(opts.dataDir, (msg) => process.stderr.write(`ringlog query: warning: ${msg}\n`));
    const job = jobFromParams(mode, p, Date.now(), { maxQueryLength: 1_000_000, defaultLimit: 100, maxLimit: 0 });
    const emitted: Promise<void>[] = [];
    result = (await runJob(reader, job, {
      check() {},
      emit(r) {
        const json = recordToJson(r);
        const done = out.line(opts.json ? json : formatPretty(JSON.parse(json) as RecordJson, color));
        emitted.push(done);
        if (emitted.length > 256) return Promise.all(emitted.splice(0)).then(() => {});
        return undefined;
      },
    })) as unknown as typeof result;
    await Promise.all(emitted);
  }
  await printResult(mode, result, opts, out, color);
  await out.flush();
  if (opts.stats && result.stats) {
    const st = result.stats as ScanStats;
    process.stderr.write(`blocks=${st.blocks} skipped_by_time=${st.skippedByTime} skipped_by_index=${st.skippedByIndex} read=${st.read} damaged=${st.damaged} wal_records=${st.walRecords} matched=${st.matched}\n`);
  }
  if (mode === 'query' && result.cursor) {
    process.stderr.write(`ringlog query: more records; continue with --cursor ${result.cursor}\n`);
  }
}

async function printResult(mode: Mode, r: Record<string, unknown>, opts: QueryCliOptions, out: Out, color: boolean): Promise<void> {
  if (mode === 'query') return;
  if (opts.json) {
    const { kind: _k, ...body } = r;
    await out.line(JSON.stringify(body));
    return;
  }
  if (mode === 'count') {
    await out.line(String(r.count));
    return;
  }
  if (mode === 'hits') {
    const buckets = r.buckets as { time: string; count: number }[];
    const max = Math.max(1, ...buckets.map((b) => b.count));
    const width = Math.max(...buckets.map((b) => String(b.count).length));
    for (const b of buckets) {
      const bar = '█'.repeat(Math.round((b.count / max) * 50));
      await out.line(`${b.time}  ${String(b.count).padStart(width)}  ${color ? styleText('cyan', bar, { validateStream: false }) : bar}`);
    }
    await out.line(`total ${r.total as number}`);
    return;
  }
  for (const f of r.facets as { field: string; values: { value: string; count: number }[]; approximate: boolean }[]) {
    await out.line(`${color ? styleText('bold', f.field, { validateStream: false }) : f.field}${f.approximate ? ' (approximate)' : ''}`);
    for (const v of f.values) await out.line(`  ${String(v.count).padStart(10)}  ${v.value}`);
  }
}

async function runTailCommand(args: string[], opts: QueryCliOptions): Promise<void> {
  const p = params(args, opts);
  const color = opts.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
  const out = new Out();
  const show = async (json: string) => {
    await out.line(opts.json ? json : formatPretty(JSON.parse(json) as RecordJson, color));
    await out.flush();
  };
  if (opts.server !== undefined) {
    const res = await fetchOrExplain(serverUrl(opts.server, 'api/v1/tail', p));
    let event = 'message';
    for await (const l of lines(res)) {
      if (l.startsWith('event: ')) event = l.slice(7);
      else if (l.startsWith('data: ')) {
        const data = l.slice(6);
        if (event === 'missed') {
          const m = JSON.parse(data) as { count: number; entries?: number };
          if (m.count > 0) process.stderr.write(`ringlog tail: missed ${m.count} records (reading too slowly)\n`);
          if ((m.entries ?? 0) > 0) process.stderr.write(`ringlog tail: missed ${m.entries} WAL entries the server's tail could not read (their records are in the store: ringlog query finds them)\n`);
        }
        else if (event === 'ready') process.stderr.write('ringlog tail: following; records written from now on are shown\n');
        else if (event === 'message') await show(data);
      } else if (l === '') event = 'message';
    }
    return;
  }
  // A data directory: follow its WAL here, as the server's tail does.
  const root = parseQuery(p.get('query') ?? '').root;
  const tail = new WalTail(storeRoot(opts.dataDir));
  const queries = new Map([[0, root]]);
  for (;;) {
    const res = tail.poll(queries);
    const pending = res.matches.get(0) ?? [];
    if (res.skipped > 0) process.stderr.write(`ringlog tail: missed ${res.skipped} records (reading too slowly)\n`);
    if (res.lostEntries > 0) process.stderr.write(`ringlog tail: missed ${res.lostEntries} WAL entries that could not be read (their records are in the store: ringlog query finds them)\n`);
    for (const j of pending) await out.line(opts.json ? j : formatPretty(JSON.parse(j) as RecordJson, color));
    await out.flush();
    await new Promise((r) => setTimeout(r, 50));
  }
}

function commonOptions(cmd: Command): Command {
  const collect = (v: string, prev: string[]) => [...prev, v];
  return cmd
    .addOption(new Option('-d, --data-dir <DIR>', 'data directory to open read-only (when no --server)').env('RINGLOG_DATA_DIR').default('./ringlog-data'))
    .addOption(new Option('-s, --server <URL>', 'ask a running server (http://host:5080) instead of opening a data directory').env('RINGLOG_SERVER'))
    .option('--field <NAME=VALUE>', 'shorthand for NAME:"VALUE" (repeatable)', collect, [])
    .option('--host <HOST>', 'shorthand for host:"HOST"')
    .option('--app <APP>', 'shorthand for app:"APP"')
    .option('--contains <TEXT>', 'the message contains TEXT exactly (case-sensitive; repeatable)', collect, [])
    .option('--severity <LEVEL>', 'shorthand for severity<=LEVEL: LEVEL or more severe (err, warning, 3…)')
    .option('--json', 'one JSON object per line (the record form of docs/record.md)')
    .option('--color', 'color the output even when it is not a terminal')
    .option('--no-color', 'no colors');
}

export function queryCommand(): Command {
  const collect = (v: string, prev: string[]) => [...prev, v];
  const cmd = commonOptions(new Command('query')
    .description('search, count or chart records (docs/query.md), from a server (--server) or a data directory')
    .argument('[query...]', 'the query (docs/query.md); several arguments are joined with spaces'))
    .option('--since <WHEN>', 'records at or after WHEN: a duration ago (30m, 2h, 7d) or a time (2026-11-22T10:00:00Z)')
    .option('--until <WHEN>', 'records before WHEN (same forms)')
    .option('--limit <N>', 'at most N records; 0 = all', '100')
    .option('--oldest', 'oldest first (default: newest first)')
    .option('--cursor <CURSOR>', 'continue a search where the previous page ended (printed on stderr)')
    .option('--count', 'print the number of matching records')
    .option('--hits', 'print a histogram of matching records over time (default: the last 24 hours)')
    .option('--step <DURATION>', 'with --hits: bucket width (default: about 60 buckets)')
    .option('--facets <FIELD>', 'print the most frequent values of FIELD among matches (repeatable: host, app, severity, a field name)', collect, [])
    .option('--top <N>', 'with --facets: values per field', '10')
    .option('--stats', 'print how many blocks were read and skipped to stderr');
  cmd.action(async (args: string[], opts: QueryCliOptions) => {
    try {
      await runQueryCommand(args, opts);
    } catch (err) {
      if (err instanceof QuerySyntaxError) err.message += `\n  ${queryText(args, opts)}\n  ${' '.repeat(Math.max(0, err.pos))}^`;
      throw err;
    }
  });
  return cmd;
}

export function tailCommand(): Command {
  const cmd = commonOptions(new Command('tail')
    .description('print records as they arrive, filtered by a query (docs/query.md); Ctrl-C stops')
    .argument('[query...]', 'the query; several arguments are joined with spaces'));
  cmd.action(async (args: string[], opts: QueryCliOptions) => {
    await runTailCommand(args, { ...opts, limit: '0', facets: [], top: '10' });
  });
  return cmd;
}

