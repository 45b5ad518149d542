/**
 * The live-tail thread (tail-hub.ts starts it while someone is subscribed): reads the
 * new records of the WAL every pollMs (wal-tail.ts) and sends the hub each
 * subscriber's matches as NDJSON text, and how many records every subscriber missed
 * when it had to skip ahead.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Node } from './ast.js';
import { WalTail } from './wal-tail.js';
import { lowerThreadPriority, nameThread } from '../thread-priority.js';

export interface TailWorkerInit {
  storeRoot: string;
  pollMs: number;
}

export type ToTailWorker = { type: 'subscribe'; id: number; root: Node } | { type: 'unsubscribe'; id: number };

export type FromTailWorker =
  | { type: 'subscribed'; id: number }
  /** `lostEntries`: WAL entries the thread could not read at all (records not known). */
  | { type: 'records'; items: { id: number; data: string; count: number }[]; skipped: number; lostEntries: number }
  | { type: 'error'; message: string };

function start(): void {
  const port = parentPort!;
  const init = workerData as TailWorkerInit;
  nameThread('ringlog-tail');
  lowerThreadPriority(19);
  const subs = new Map<number, Node>();
  let tail: WalTail | null = null;

  port.on('message', (m: ToTailWorker) => {
    if (m.type === 'unsubscribe') {
      subs.delete(m.id);
      return;
    }
    // Poll once first, so the new subscriber starts at the end of what is written now.
    poll();
    subs.set(m.id, m.root);
    port.postMessage({ type: 'subscribed', id: m.id } satisfies FromTailWorker);
  });

  const poll = () => {
    try {
      tail ??= new WalTail(init.storeRoot);
      const res = tail.poll(subs);
      const out = res.matches;
      if (out.size > 0 || res.skipped > 0 || res.lostEntries > 0) {
        const items = [...out].map(([id, lines]) => ({ id, data: lines.join('\n') + '\n', count: lines.length }));
        port.postMessage({ type: 'records', items, skipped: res.skipped, lostEntries: res.lostEntries } satisfies FromTailWorker);
      }
    } catch (err) {
      port.postMessage({ type: 'error', message: (err as Error).message } satisfies FromTailWorker);
    }
  };
  setInterval(poll, init.pollMs);
}

start();
