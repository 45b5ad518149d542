/**
 * One end-to-end run of `ringlog bench` into a fresh `ringlog serve`, timed the way
 * bench/edge.ts and bench/store.ts both report it: from the sender's own start
 * (its JSON summary's startedAtMs) to the server's own time of its last write to the
 * counted output (ringlog_output_last_write_timestamp_seconds, for the store: the
 * last time records became durable) once ringlog_output_records_total of that
 * output has reached N. /metrics is polled every 50 ms, so polling costs the
 * server nothing to speak of and does not add its interval to the time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { startServer, sumMetric, type MetricSample } from './server.js';
import { fmtInt, runLoadgen, sleep, type LoadgenSummary } from './harness.js';

export interface ServerRunOptions {
  dataDir: string;
  /** --output values. */
  outputs: string[];
  serverArgs: string[];
  /** Prefix of the output label whose records are counted (null, ndjson, store). */
  countOutput: string;
  /** `ringlog bench` arguments, without --target. */
  loadgenArgs: string[];
  messages: number;
  timeoutSec: number;
  /** Also time the first `markAt` records (ServerRun.markSeconds): how the run went while the server was cold. */
  markAt?: number;
}

export interface ServerRun {
  msgsPerSec: number;
  seconds: number;
  /** Sender's start → the server's last write once `markAt` records were counted (null without markAt). */
  markSeconds: number | null;
  peakRssKb: number | null;
  sender: LoadgenSummary | null;
  notes: string[];
  /** /metrics right after the run, before the server stopped. */
  samples: MetricSample[];
  /**
   * CPU per record of the server's threads over the run (/proc/<pid>/task/<tid>/stat,
   * user + system): the event loop (the main thread), the store worker and its helper
   * threads (named ringlog-store, ringlog-parse, ringlog-seal), and every other thread
   * (libuv's pool: WAL writes; V8: GC and compilation). Null where /proc is not there.
   */
  cpuNsPerRecord: { loop: number; store: number; other: number; otherByName: Map<string, number> } | null;
  /**
   * Bytes the server had the disk write per record over the same span (/proc/<pid>/io
   * write_bytes: WAL entries, zero-filled WAL files, segments, index files). Null where
   * /proc is not there.
   */
  diskBytesPerRecord: number | null;
}

/** Bytes a process has caused to be written to storage (/proc/<pid>/io write_bytes), or null. */
export function diskWritten(pid: number): number | null {
  try {
    const m = /^write_bytes:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Per-thread CPU time (ns) of a process, and each thread's name. */
export function threadCpu(pid: number): Map<number, { comm: string; ns: number }> | null {
  const out = new Map<number, { comm: string; ns: number }>();
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const comm = stat.slice(stat.indexOf('(') + 1, close);
        const f = stat.slice(close + 2).split(' ');
        // Fields 14 and 15 (utime, stime) in clock ticks; f[0] is field 3.
        out.set(Number(t), { comm, ns: (Number(f[11]) + Number(f[12])) * 1e7 });
      } catch {
        /* the thread ended */
      }
    }
  } catch {
    return null;
  }
  return out;
}

/** Busy and total time of every CPU of the machine, from /proc/stat (clock ticks), or null off Linux. */
export function machineCpu(): { busy: number; total: number } | null {
  try {
    // user nice system idle iowait irq softirq steal (guest and guest_nice are already in user and nice).
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = line.reduce((a, b) => a + b, 0);
    // Idle and iowait are not busy.
    return { busy: total - line[3]! - (line[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** Share of a CPU used by process `pid` (all its threads) between two threadCpu() readings, over `seconds`. */
export function processCpuShare(before: Map<number, { ns: number }> | null, after: Map<number, { ns: number }> | null, seconds: number): number {
  if (!before || !after || seconds <= 0) return NaN;
  let ns = 0;
  for (const [tid, a] of after) ns += a.ns - (before.get(tid)?.ns ?? 0);
  return ns / 1e9 / seconds;
}

const STORE_THREADS = new Set(['ringlog-store', 'ringlog-parse', 'ringlog-seal']);

function cpuSplit(pid: number, before: Map<number, { comm: string; ns: number }> | null, after: Map<number, { comm: string; ns: number }> | null, records: number): ServerRun['cpuNsPerRecord'] {
  if (!before || !after || records <= 0) return null;
  const r = { loop: 0, store: 0, other: 0 };
  const otherByName = new Map<string, number>();
  for (const [tid, a] of after) {
    const d = a.ns - (before.get(tid)?.ns ?? 0);
    if (tid === pid) r.loop += d;
    else if (STORE_THREADS.has(a.comm)) r.store += d;
    else {
      r.other += d;
      otherByName.set(a.comm, (otherByName.get(a.comm) ?? 0) + d / records);
    }
  }
  return { loop: r.loop / records, store: r.store / records, other: r.other / records, otherByName };
}

export function outputRecords(samples: MetricSample[], output: string): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name === 'ringlog_output_records_total' && (s.labels.output ?? '').startsWith(output)) sum += s.value;
  }
  return sum;
}

export async function measureServerRun(o: ServerRunOptions): Promise<ServerRun> {
  const srv = await startServer({ output: o.outputs, dataDir: o.dataDir, args: o.serverArgs });
  let stopped = false;
  try {
    const frames0 = sumMetric(await srv.metrics(), 'ringlog_received_frames_total');
    const records0 = outputRecords(await srv.metrics(), o.countOutput);
    const cpu0 = threadCpu(srv.pid);
    const disk0 = diskWritten(srv.pid);
    const want = records0 + o.messages;
    let sender: LoadgenSummary | null = null;
    let senderErr: Error | null = null;
    const lg = runLoadgen(['--target', srv.target('tcp'), ...o.loadgenArgs]).then(
      (s) => { sender = s; },
      (e: Error) => { senderErr = e; },
    );
    let tFirst = 0;
    let tLast = 0;
    let tMark = 0;
    let prev = { records: records0, at: 0 };
    let frames = frames0;
    let records = records0;
    const deadline = performance.now() + o.timeoutSec * 1000;
    for (;;) {
      const t0 = performance.now();
      const samples = await srv.metrics();
      const t = (t0 + performance.now()) / 2; // the scrape happened somewhere in between
      frames = sumMetric(samples, 'ringlog_received_frames_total');
      records = outputRecords(samples, o.countOutput);
      if (!tFirst && frames > frames0) tFirst = t;
      // The server's own time of its last write (epoch s) on our performance.now() timeline.
      const lastWrite = () => {
        const last = samples.find((x) => x.name === 'ringlog_output_last_write_timestamp_seconds' && (x.labels.output ?? '').startsWith(o.countOutput));
        return last ? last.value * 1000 - performance.timeOrigin : t;
      };
      if (o.markAt !== undefined && !tMark) {
        // Between this scrape and the one before (50 ms apart), in proportion to the records.
        const mark = records0 + o.markAt;
        const at = lastWrite();
        if (records >= mark) tMark = prev.at > 0 && prev.records < mark && records > prev.records ? prev.at + ((at - prev.at) * (mark - prev.records)) / (records - prev.records) : at;
        prev = { records, at };
      }
      if (records >= want) {
        tLast = lastWrite();
        break;
      }
      if (senderErr) throw senderErr;
      if (t > deadline) {
        throw new Error(`timed out after ${o.timeoutSec} s: server counted ${fmtInt(records - records0)}/${fmtInt(o.messages)} records ` +
          `(${fmtInt(frames - frames0)} frames received)`);
      }
      await sleep(50);
    }
    await lg;
    if (senderErr) throw senderErr;
    // Precise start: the sender's own clock (same machine), converted to our performance.now() timeline.
    const startedAt = (sender as LoadgenSummary | null)?.startedAtMs;
    if (typeof startedAt === 'number') tFirst = startedAt - performance.timeOrigin;
    const mem = srv.memory();
    // The store worker builds blocks after the ack point: wait until it has consumed everything, so its CPU counts whole.
    for (let i = 0; i < 400 && sumMetric(await srv.metrics(), 'ringlog_store_pending_bytes') > 0; i++) await sleep(25);
    const cpu1 = threadCpu(srv.pid);
    const disk1 = diskWritten(srv.pid);
    const samples = await srv.metrics();
    const received = sumMetric(samples, 'ringlog_received_frames_total') - frames0;
    const dropped = sumMetric(samples, 'ringlog_dropped_total');
    const notes: string[] = [];
    if (received !== o.messages) notes.push(`received ${fmtInt(received)} frames`);
    if (dropped > 0) notes.push(`${fmtInt(dropped)} dropped`);
    stopped = true;
    const code = await srv.stop();
    if (code !== 0) notes.push(`exit ${srv.describeExit()}`);
    const seconds = (tLast - tFirst) / 1000;
    const diskBytesPerRecord = disk0 !== null && disk1 !== null ? (disk1 - disk0) / o.messages : null;
    const markSeconds = tMark ? (tMark - tFirst) / 1000 : null;
    return { msgsPerSec: o.messages / seconds, seconds, markSeconds, peakRssKb: mem?.hwmKb ?? null, sender, notes, samples, cpuNsPerRecord: cpuSplit(srv.pid, cpu0, cpu1, o.messages), diskBytesPerRecord };
  } finally {
    if (!stopped) await srv.stop();
  }
}

/** The cumulative buckets of histogram `name` in a scrape, summed over the label sets that have `labels`. */
export function histogram(samples: MetricSample[], name: string, labels: Record<string, string> = {}): { le: number; count: number }[] {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((x, y) => x.le - y.le);
}

/** Quantile q of the difference of two cumulative histograms, linear within a bucket. */
export function quantile(before: { le: number; count: number }[], after: { le: number; count: number }[], q: number): number {
  const b = new Map(before.map((x) => [x.le, x.count]));
  const cum = after.map((x) => ({ le: x.le, count: x.count - (b.get(x.le) ?? 0) }));
  const total = cum[cum.length - 1]?.count ?? 0;
  if (total === 0) return NaN;
  const want = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const c of cum) {
    if (c.count >= want) {
      if (!Number.isFinite(c.le)) return prevLe;
      const inBucket = c.count - prevCount;
      return prevLe + (inBucket > 0 ? ((want - prevCount) / inBucket) * (c.le - prevLe) : 0);
    }
    prevLe = c.le;
    prevCount = c.count;
  }
  return prevLe;
}
