/**
 * Background threads (the store worker, query workers) run at a lower priority than
 * the event loop (Linux: setpriority on the thread id, which Linux schedules per
 * thread). When cores are short, reads, WAL writes and acks should not wait for
 * background work. Where thread ids are not available, nothing changes.
 */
import { readlinkSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Raises this thread's nice value by `by` (at most to 19). */
export function lowerThreadPriority(by: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + by));
  } catch {
    /* not Linux, or not permitted: keep the default */
  }
}

/** Names this thread in top -H, ps -L and /proc (bench/lib/measure.ts counts CPU per thread by it). */
export function nameThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    /* not Linux */
  }
}
