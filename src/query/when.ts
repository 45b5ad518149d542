/**
 * Times as people give them in options and URL parameters (`since`, `until`): a
 * duration before now (`30m`, `2h`, `7d`), RFC 3339 text (fraction up to ns, zone
 * optional: UTC), a date, or epoch milliseconds (13 digits or more).
 */
import { parseDuration } from '../config/units.js';
import { RinglogError } from '../errors.js';
import type { TimePoint } from './plan.js';

/** A time given as a duration before now (`1h`, `30m`) or as RFC 3339 text / epoch ms. */
export function parseWhen(text: string, now: number, what: string): TimePoint {
  const ago = parseDuration(text);
  if (ago !== null && !/^\d{13,}$/.test(text.trim())) return { ms: now - ago, ns: 0 };
  if (/^\d{13,}$/.test(text.trim())) return { ms: Number(text.trim()), ns: 0 };
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/i.exec(text.trim());
  const ms = m ? Date.parse(`${m[1]}${m[3] ?? 'Z'}`) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new RinglogError('RL_QUERY_INVALID', `${what}: "${text}" is neither a duration (30m, 2h, 7d) nor a time (2026-11-22T10:00:00Z)`);
  if (!m || m[2] === undefined) return { ms, ns: 0 };
  const frac = m[2].padEnd(9, '0');
  return { ms: ms + Number(frac.slice(0, 3)), ns: Number(frac.slice(3)) };
}

