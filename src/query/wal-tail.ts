/**
 * Live tail's reading side, for the server's tail thread (tail-worker.ts) and for
 * `ringlog tail -d DIR`: follows the WAL from its end (store/wal-follower.ts), parses
 * each new entry once as the store worker does, and tests every record against every
 * query (the reference semantics of evaluate.ts). A record is made into an object
 * and into JSON only when some query needs it.
 *
 * Making records is most of the cost, so a batch is first tested as a block would be
 * (plan.ts blockMayMatch): its time range, masks and the set of its tokens, gathered
 * as the store's index gathers them (block-builder.ts batchSummary). When no query can
 * match anything in it (a word or `name=value` none of its records has, a level none
 * has, a time range it is outside of), its records are not made at all. This runs only
 * when every subscriber's query can rule a batch out that way: one query that cannot
 * (NOT alone, a regex, a wildcard, a field comparison, `*`) has every record made.
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
import { batchSummary } from '../store/block-builder.js';
import type { BlockSummary } from '../store/segment.js';
import { planQuery, type Plan } from './plan.js';

const MAX_BEHIND = 32 * 1024 * 1024;

/** A batch with no record: a query that may match it cannot rule any batch out. */
const NOTHING: BlockSummary = {
  header: { minMs: Infinity, minNs: 0, maxMs: -Infinity, maxNs: 0, facMask: 0, sevMask: 0 },
  filter: { mayContain: () => false },
};

export class WalTail {
  private readonly follower: WalFollower;
  private readonly parsers = new Parsers();
  private readonly plans = new WeakMap<Node, Plan>();
  private readonly batchTest: boolean;
  /** Batches tested, and those of them no query could match (their records were not made). */
  readonly batches = { tested: 0, ruledOut: 0 };

  /** `batchTest: false` makes the records of every batch (tests compare both ways). */
  constructor(storeRoot: string, opts: { batchTest?: boolean } = {}) {
    this.follower = new WalFollower(storeRoot, { from: 'end', maxBehind: MAX_BEHIND });
    this.batchTest = opts.batchTest ?? true;
  }

  /**
   * The records written since the last poll, as JSON lines per query id that they
   * match; how many records were skipped unread; and how many WAL entries were not read
   * at all (their records are not known: see WalFollower).
   */
  poll(queries: ReadonlyMap<number, Node>): { matches: Map<number, string[]>; skipped: number; lostEntries: number } {
    const out = new Map<number, string[]>();
    const plans: [number, Node, Plan][] = [];
    for (const [id, root] of queries) {
      let p = this.plans.get(root);
      if (p === undefined) this.plans.set(root, (p = planQuery(root)));
      plans.push([id, root, p]);
    }
    // The batch test pays only when every query can rule a batch out: one that cannot
    // has every record made anyway, and skipping the others' matches() saves little.
    const test = this.batchTest && plans.length > 0 && plans.every(([, , p]) => !p.blockMayMatch(NOTHING));
    const live: [number, Node][] = [];
    const res = this.follower.poll((e) => {
      if (queries.size === 0) return;
      for (const b of e.batches) {
        const rb = this.parsers.parse(b);
        live.length = 0;
        if (test) {
          const batch = batchSummary(rb);
          for (const [id, root, p] of plans) if (p.blockMayMatch(batch)) live.push([id, root]);
          this.batches.tested++;
          if (live.length === 0) this.batches.ruledOut++;
        } else {
          for (const [id, root] of plans) live.push([id, root]);
        }
        if (live.length === 0) continue;
        for (let i = 0; i < rb.count; i++) {
          let rec: LogRecord | null = null;
          let json: string | null = null;
          for (const [id, root] of live) {
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
