/**
 * Deterministic sample lines shared by the benchmarks (bench/parse.ts,
 * bench/store-worker.ts, bench/ingest-http.ts): six hosts and apps, words from a small
 * vocabulary, lines cut or padded to an exact size.
 */
export const HOSTS = ['web-1', 'web-2', 'db-primary', 'cache-03', 'edge-fra-7', 'worker-12'];
export const APPS = ['nginx', 'postgres', 'sshd', 'api-gateway', 'billing', 'cron'];
const WORDS = 'request completed user login failed timeout upstream retry connection reset cache miss order created payment accepted'.split(' ');

/** n words for message i. */
export function words(i: number, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) s += (k ? ' ' : '') + WORDS[(i * 7 + k * 13) % WORDS.length];
  return s;
}

/** `line` cut or padded with `pad` to exactly `size` characters. */
export function fit(line: string, size: number, pad: string): string {
  if (line.length >= size) return line.slice(0, size);
  return line + pad.repeat(Math.ceil((size - line.length) / pad.length)).slice(0, size - line.length);
}

/** RFC 5424 line i of 127 bytes (without its LF) on day `date` (YYYY-MM-DD): varied pri, host, app, pid, msgid, structured data and words. */
export function rfc5424Line(i: number, date: string): string {
  return fit(
    `<${128 + (i % 8) + 6}>1 ${date}T10:${String(i % 60).padStart(2, '0')}:${String((i >> 6) % 60).padStart(2, '0')}.${String(i % 1e6).padStart(6, '0')}Z ${HOSTS[i % 6]} ${APPS[i % 6]} ${1000 + (i % 9000)} ID${i % 50} [req@32473 id="${i % 100000}"] ${words(i, 4)} `,
    127, 'x');
}

/** The NDJSON lines bench/ingest-http.ts posts: line i of body `seed`, about `size` bytes with its LF (without it here). */
export function httpJsonLine(seed: number, i: number, size: number): string {
  const head = JSON.stringify({ time: new Date(Date.UTC(2026, 11, 2, 10) + i).toISOString(), level: 'info', host: `web-${(seed + i) % 8}`, app: 'bench', message: `request ${seed}-${i} served`, status: 200 });
  return head.slice(0, -1) + `,"pad":"${'x'.repeat(Math.max(0, size - head.length - 10))}"}`;
}
