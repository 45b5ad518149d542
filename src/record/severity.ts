/**
 * The syslog scales (RFC 5424 §6.2.1) and how other sources' levels map onto them.
 */

export const SEVERITY_NAMES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

export const FACILITY_NAMES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5',
  'local6', 'local7',
] as const;

/**
 * Level names, lower case, as applications write them (syslog names, their long
 * forms, and the names of common logging libraries) → syslog severity.
 */
export const LEVEL_NAMES: ReadonlyMap<string, number> = new Map([
  ['emerg', 0], ['emergency', 0], ['panic', 0],
  ['alert', 1],
  ['crit', 2], ['critical', 2], ['fatal', 2],
  ['err', 3], ['error', 3], ['eror', 3],
  ['warn', 4], ['warning', 4],
  ['notice', 5],
  ['info', 6], ['information', 6], ['informational', 6],
  ['debug', 7], ['dbug', 7], ['trace', 7], ['verbose', 7],
]);

/**
 * A numeric level → syslog severity, or -1 when the number means nothing we know.
 * 0–7 are syslog severities (GELF, journald's PRIORITY); 10–60 are pino/bunyan
 * levels (trace 10, debug 20, info 30, warn 40, error 50, fatal 60).
 */
export function severityFromNumber(n: number): number {
  if (!Number.isInteger(n)) return -1;
  if (n >= 0 && n <= 7) return n;
  if (n >= 60) return 2;
  if (n >= 50) return 3;
  if (n >= 40) return 4;
  if (n >= 30) return 6;
  if (n >= 10) return 7;
  return -1;
}
