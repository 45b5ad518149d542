/**
 * How many connections the open-files limit leaves room for. When a process runs
 * out of descriptors, libuv accepts and immediately closes the connection with a
 * spare descriptor it keeps for that purpose, and reports nothing: the refusal
 * would be invisible. So stream listeners cap their connection count below the
 * limit themselves, and connections over the cap go through Node's 'drop' event,
 * where they are counted and logged.
 */
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Descriptors kept free for everything else: output and store files, HTTP
 * connections, DNS, child processes, the log. 64 covers what the server opens itself.
 */
export const FD_RESERVE = 64;

/** The soft RLIMIT_NOFILE from /proc/self/limits; null where it cannot be read. */
export function openFilesLimit(): number | null {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)\s+/m.exec(text);
    if (!m) return null;
    return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return null;
  }
}

export function openDescriptors(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/** Connections each of `listeners` stream listeners may hold; null when unknown (no /proc). */
export function connectionBudget(listeners: number): number | null {
  const limit = openFilesLimit();
  const open = openDescriptors();
  if (limit === null || open === null || listeners === 0) return null;
  return Math.max(1, Math.floor((limit - open - FD_RESERVE) / listeners));
}
