/**
 * WAL write latency while the next WAL file is made: node dist/bench/wal.js
 *
 * The store's WalWriter alone (fsync always: O_DSYNC writes), on real files in the
 * temporary directory, without the rest of the server, so that the disk's part of
 * the ack latency can be seen apart from CPU contention:
 *
 * - Entries of --entry-bytes (default 200,000: a 1,000-line HTTP body) are appended at
 *   --rate entries/s (default 240) for --seconds (default 8) to files of
 *   --file-target bytes (default 64 MiB). Entries appended while a write is in flight
 *   go out together with the next one (group commit), as in the server.
 * - A "commit" follows every rotation after --commit-delay ms (default 150):
 *   deleteUpTo() of the last entry before the newest file, as the store does once a
 *   checkpoint covers a file.
 * - Per entry: append → durable (what an HTTP client waits for, less the CPU work).
 *
 * Modes, alternated --repeat times (default 3) so that drift on the machine hits each:
 *   recycled  the default: a committed file becomes the next prepared file (zeroed in place)
 *   fresh     committed files are deleted and each next file is created and zero-filled
 *             (the behaviour before recycling)
 *   grown     no prepared files (store.walPrepare: false)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WalWriter } from '../src/store/wal-writer.js';
import { commandLine, fmtInt, formatTable, sampleQuantile, sleep } from './lib/harness.js';

type Mode = 'recycled' | 'fresh' | 'grown';

interface Args {
  rate: number;
  entryBytes: number;
  seconds: number;
  fileTarget: number;
  commitDelay: number;
  repeat: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { rate: 240, entryBytes: 200_000, seconds: 8, fileTarget: 64 * 1024 * 1024, commitDelay: 150, repeat: 3 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const n = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${k}: expected a positive number`);
      return v;
    };
    switch (k) {
      case '--rate': a.rate = n(); break;
      case '--entry-bytes': a.entryBytes = Math.floor(n()); break;
      case '--seconds': a.seconds = n(); break;
      case '--file-target': a.fileTarget = Math.floor(n()); break;
      case '--commit-delay': a.commitDelay = n(); break;
      case '--repeat': a.repeat = Math.floor(n()); break;
      default:
        process.stderr.write('usage: node dist/bench/wal.js [--rate N] [--entry-bytes B] [--seconds S] [--file-target B] [--commit-delay MS] [--repeat R]\n');
        process.exit(k === '--help' || k === '-h' ? 0 : 2);
    }
  }
  return a;
}

interface Run {
  latMs: number[];
  writes: number;
  opened: { prepared: number; grown: number; recycled: number };
}

async function run(a: Args, mode: Mode): Promise<Run> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringlog-bench-wal-'));
  const appended = new Map<number, number>();
  const latMs: number[] = [];
  let writes = 0;
  const w = new WalWriter(dir, [], {
    fsync: 'always',
    fsyncIntervalMs: 10,
    fileTarget: a.fileTarget,
    prepare: mode !== 'grown',
    recycle: mode === 'recycled',
    onDurable: (es) => {
      const now = performance.now();
      for (const e of es) {
        latMs.push(now - appended.get(e.lsn)!);
        appended.delete(e.lsn);
      }
    },
    onError: (err) => {
      throw err;
    },
    onRecovered: () => {},
    onSync: () => {
      writes++;
    },
  });
  try {
    await w.start(1);
    const entry = Buffer.alloc(a.entryBytes, 0x52);
    const commits: Promise<unknown>[] = [];
    const newest = () => w.files[w.files.length - 1]!.firstLsn;
    let open = newest();
    const interval = 1000 / a.rate;
    const t0 = performance.now();
    let lsn = 0;
    while (performance.now() - t0 < a.seconds * 1000) {
      const due = t0 + lsn * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      lsn++;
      appended.set(lsn, performance.now());
      w.append({ lsn, entry });
      if (newest() !== open) {
        open = newest();
        const upTo = open - 1;
        commits.push(sleep(a.commitDelay).then(() => w.deleteUpTo(upTo)));
      }
    }
    await w.close();
    await Promise.all(commits);
    return { latMs, writes, opened: { ...w.opened } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  process.stdout.write(`$ ${commandLine()}\nnode ${process.version}, ${os.cpus().length} CPUs, directory ${os.tmpdir()}; ${fmtInt(a.rate)} entries/s of ${fmtInt(a.entryBytes)} B for ${a.seconds} s, files of ${fmtInt(a.fileTarget)} B, a commit ${a.commitDelay} ms after each rotation\n\n`);
  const modes: Mode[] = ['recycled', 'fresh', 'grown'];
  const runs = new Map<Mode, Run[]>(modes.map((m) => [m, []]));
  for (let r = 1; r <= a.repeat; r++) {
    for (const m of modes) {
      process.stderr.write(`[${r}/${a.repeat}] ${m}…\n`);
      runs.get(m)!.push(await run(a, m));
    }
  }
  const rows = [['mode', 'run', 'entries', 'writes', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'files opened (prepared/recycled/grown)']];
  for (const m of modes) {
    runs.get(m)!.forEach((x, i) => {
      const s = x.latMs.slice().sort((u, v) => u - v);
      rows.push([m, String(i + 1), fmtInt(s.length), fmtInt(x.writes), ...[0.5, 0.9, 0.99, 0.999].map((p) => sampleQuantile(s, p).toFixed(2)), s[s.length - 1]!.toFixed(2),
        `${x.opened.prepared}/${x.opened.recycled}/${x.opened.grown}`]);
    });
  }
  process.stdout.write(`Append → durable per entry:\n${formatTable(rows)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
