/**
 * Calendar arithmetic for parsers: civil date → days since 1970-01-01 (proleptic
 * Gregorian, any year), without a Date object per record, and the RFC 3339 text of
 * a nanosecond timestamp for outputs.
 */

/** Days from 1970-01-01 to y-m-d (m 1..12), valid for any year. */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Days in month m (1..12) of year y. */
export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** The last date converted by utcMs: consecutive records are nearly always from the same day. */
let lastY = NaN;
let lastMo = NaN;
let lastD = NaN;
let lastDays = 0;

/** ms since the epoch of a UTC civil time. */
export function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  if (y !== lastY || mo !== lastMo || d !== lastD) {
    lastDays = daysFromCivil(y, mo, d);
    lastY = y;
    lastMo = mo;
    lastD = d;
  }
  return ((lastDays * 24 + h) * 60 + mi) * 60_000 + s * 1000;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** RFC 3339 UTC text with nanoseconds: 2026-11-22T10:00:00.123456789Z. */
export function formatTimestamp(ms: number, ns: number): string {
  const sec = Math.floor(ms / 1000);
  const d = new Date(sec * 1000);
  const y = d.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
  const frac = (ms - sec * 1000) * 1_000_000 + ns;
  return `${year}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(frac, 9)}Z`;
}

/** Nanoseconds since the epoch as a BigInt. */
export function toNs(ms: number, ns: number): bigint {
  return BigInt(ms) * 1_000_000n + BigInt(ns);
}

/**
 * A receive time (ms since the epoch with a fraction, from nowMs()) split into whole
 * ms and ns within that ms. The clock has µs resolution and a double near 1.8e12 ms
 * holds the fraction only to ~0.25 µs, so the ns part is rounded to whole µs rather
 * than carrying float noise into the record.
 */
export function splitReceived(received: number): { ms: number; ns: number } {
  const ms = Math.floor(received);
  const us = Math.round((received - ms) * 1000);
  // A fraction that rounds up to the next ms, without a branch: taken about once in a
  // thousand calls, a branch was first taken after V8 had optimized the code around it
  // (the block builder's and the record writer's per-batch code), which threw it out.
  const carry = us >= 1000 ? 1 : 0;
  return { ms: ms + carry, ns: (us - 1000 * carry) * 1000 };
}
