/**
 * Live tail's reading side, for the server's tail thread (tail-worker.ts) and for
 * `ringlog tail -d DIR`: follows the WAL from its end (store/wal-follower.ts), parses
 * each new entry once as the store worker does, and tests every record against every
 * query (the reference semantics of evaluate.ts). A record is made into an object
 * and into JSON only when some query needs it.
 *
 * It reads what the server has written, so it never slows ingestion; when it falls
 * more than MAX_BEHIND bytes behind in a WAL file, it skips ahead and says how many
 * records it skipped; when it falls two or more files behind, it jumps to the newest
 * file; and it says how many entries it did not read at all (jumped over, or gone
 * before it got to them).
 */
import type { Node } from './ast.js';
import { matches } from './evaluate.js';
import { recordAt, type LogRecord } from '../record/record.js';
import { recordToJson } from '../record/record-json.js';
import { Parsers } from '../store/parsers.js';
import { WalFollower } from '../store/wal-follower.js';

const MAX_BEHIND = 32 * 1024 * 1024;

export class WalTail {
  private readonly follower: WalFollower;
  private readonly parsers = new Parsers();

  constructor(storeRoot: string) {
    this.follower = new WalFollower(storeRoot, { from: 'end', maxBehind: MAX_BEHIND });
  }

  /**
   * The records written since the last poll, as JSON lines per query id that they
   * match; how many records were skipped unread; and how many WAL entries were not read
   * at all (their records are not known: see WalFollower).
   */
  poll(queries: ReadonlyMap<number, Node>): { matches: Map<number, string[]>; skipped: number; lostEntries: number } {
    const out = new Map<number, string[]>();
    const res = this.follower.poll((e) => {
      if (queries.size === 0) return;
      for (const b of e.batches) {
        const rb = this.parsers.parse(b);
        for (let i = 0; i < rb.count; i++) {
          let rec: LogRecord | null = null;
          let json: string | null = null;
          for (const [id, root] of queries) {
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
    return { matches: out, skipped: res.skippedRecords, lostEntries: res.lostEntries };
  }
}
