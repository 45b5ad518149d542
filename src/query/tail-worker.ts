/**
 * The live-tail thread (tail-hub.ts starts it while someone is subscribed): follows the
 * WAL (store/wal-follower.ts), parses each new entry once, as the store worker does,
 * and tests every record against every subscriber's query (the reference semantics of
 * evaluate.ts). Matches go to the hub as NDJSON text per subscriber, once per poll.
 *
 * It reads what the server has written, so it never slows ingestion; when it falls
 * more than WAL_MAX_BEHIND bytes behind, it skips ahead and reports how many records
 * every subscriber missed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Node } from './ast.js';
import { matches } from './evaluate.js';
import { recordAt, type LogRecord } from '../record/record.js';
import { recordToJson } from '../record/record-json.js';
import { Parsers } from '../store/parsers.js';
import { WalFollower } from '../store/wal-follower.js';
import { lowerThreadPriority, nameThread } from '../thread-priority.js';

export interface TailWorkerInit {
  storeRoot: string;
  pollMs: number;
}

export type ToTailWorker = { type: 'subscribe'; id: number; root: Node } | { type: 'unsubscribe'; id: number };

export type FromTailWorker =
  | { type: 'subscribed'; id: number }
  | { type: 'records'; items: { id: number; data: string; count: number }[]; skipped: number }
  | { type: 'error'; message: string };

const WAL_MAX_BEHIND = 32 * 1024 * 1024;

function start(): void {
  const port = parentPort!;
  const init = workerData as TailWorkerInit;
  nameThread('ringlog-tail');
  lowerThreadPriority(5);
  const subs = new Map<number, Node>();
  const parsers = new Parsers();
  let follower: WalFollower | null = null;

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
      follower ??= new WalFollower(init.storeRoot, { from: 'end', maxBehind: WAL_MAX_BEHIND });
      const out = new Map<number, string[]>();
      const res = follower.poll((e) => {
        if (subs.size === 0) return;
        for (const b of e.batches) {
          const rb = parsers.parse(b);
          for (let i = 0; i < rb.count; i++) {
            let rec: LogRecord | null = null;
            let json: string | null = null;
            for (const [id, root] of subs) {
              rec ??= recordAt(rb, i);
              if (!matches(root, rec)) continue;
              json ??= recordToJson(rec);
              let list = out.get(id);
              if (list === undefined) out.set(id, (list = []));
              list.push(json);
            }
          }
        }
      });
      if (out.size > 0 || res.skippedRecords > 0) {
        const items = [...out].map(([id, lines]) => ({ id, data: lines.join('\n') + '\n', count: lines.length }));
        port.postMessage({ type: 'records', items, skipped: res.skippedRecords } satisfies FromTailWorker);
      }
    } catch (err) {
      port.postMessage({ type: 'error', message: (err as Error).message } satisfies FromTailWorker);
    }
  };
  setInterval(poll, init.pollMs);
}

start();
