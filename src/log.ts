/**
 * ringlog's own log lines, on stderr: logfmt by default (`time=… level=info msg=listening listener=tcp …`),
 * or one JSON object per line. Warnings that a peer can trigger at will (oversize
 * frames, refused connections) go through `RateLimitedLog` so a hostile sender
 * cannot flood the log.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, string | number | boolean | undefined | null>;

function logfmtValue(v: string | number | boolean): string {
  const s = String(v);
  return /^[^\s"=\\]+$/.test(s) && s.length > 0 ? s : JSON.stringify(s);
}

export class Logger {
  private readonly min: number;
  constructor(
    level: Level = 'info',
    private readonly format: 'logfmt' | 'json' = 'logfmt',
    private readonly out: (line: string) => void = (line) => process.stderr.write(line),
  ) {
    this.min = LEVELS[level];
  }

  log(level: Level, msg: string, fields: Fields = {}): void {
    if (LEVELS[level] < this.min) return;
    const time = new Date().toISOString();
    if (this.format === 'json') {
      const obj: Record<string, unknown> = { time, level, msg };
      for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) obj[k] = v;
      this.out(JSON.stringify(obj) + '\n');
      return;
    }
    let line = `time=${time} level=${level} msg=${logfmtValue(msg)}`;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) line += ` ${k}=${logfmtValue(v)}`;
    this.out(line + '\n');
  }

  debug(msg: string, fields?: Fields): void { this.log('debug', msg, fields); }
  info(msg: string, fields?: Fields): void { this.log('info', msg, fields); }
  warn(msg: string, fields?: Fields): void { this.log('warn', msg, fields); }
  error(msg: string, fields?: Fields): void { this.log('error', msg, fields); }
}

/**
 * At most `perInterval` lines per key per interval; the first line after a quiet
 * interval reports how many were suppressed. Counters in /metrics stay exact.
 */
export class RateLimitedLog {
  private readonly state = new Map<string, { windowStart: number; count: number; suppressed: number }>();
  constructor(
    private readonly logger: Logger,
    private readonly perInterval = 10,
    private readonly intervalMs = 10_000,
  ) {}

  warn(key: string, msg: string, fields: Fields): void {
    const now = Date.now();
    let s = this.state.get(key);
    if (!s || now - s.windowStart >= this.intervalMs) {
      const suppressed = s?.suppressed ?? 0;
      s = { windowStart: now, count: 0, suppressed: 0 };
      this.state.set(key, s);
      if (this.state.size > 1000) this.state.clear(); // bounded, whatever keys callers use
      if (suppressed > 0) fields = { ...fields, suppressed };
    }
    if (s.count < this.perInterval) {
      s.count++;
      this.logger.warn(msg, fields);
    } else s.suppressed++;
  }
}
