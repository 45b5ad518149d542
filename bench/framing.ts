/**
 * Framing micro-benchmark: node dist/bench/framing.js [MiB]
 *
 * Input: ~64 MiB of 128-byte RFC 5424-like lines (127 bytes + LF), fed in chunks of
 * 65,000 bytes (not a multiple of any frame size here: a frame straddles every chunk
 * edge, as on a real socket). The same messages octet-counted ("127 " + message, no
 * LF) for the octet cases. The "→ batches" cases frame as a listener does, into a
 * BatchBuilder, frame by frame or through the native run (FrameSink.many).
 *
 * Baseline: a loop that only finds LFs with Buffer.indexOf, i.e. the least any
 * LF framer has to do. Each case runs once to warm up, then REPS rounds run all
 * cases in turn (interleaved, so JIT and GC state drift hits every case alike);
 * the best run of each case is reported (least disturbed by GC and the scheduler).
 */
import { createFramer, type Framer, type FramerOptions, type FrameSink } from '../src/protocols/framing/index.js';
import { setNativeOctet } from '../src/protocols/framing/octet.js';
import { BatchBuilder } from '../src/pipeline/batch.js';

const MiB = 1024 * 1024;
const CHUNK = 65_000;
const LINE = 128;
const REPS = 7;
const TOTAL = Math.max(1, Number(process.argv[2] ?? 64)) * MiB;

function message(i: number): string {
  const head = `<165>1 2024-05-01T12:34:56.${String(i % 1000).padStart(3, '0')}Z host-${i % 97} app ${1000 + (i % 5000)} ID47 - seq=${i} `;
  return head.padEnd(LINE - 1, 'x'); // 127 bytes of message
}

function build(octet: boolean): Buffer[] {
  const per = octet ? LINE + 4 : LINE;
  const n = Math.floor(TOTAL / LINE);
  const all = Buffer.allocUnsafe(n * per);
  let off = 0;
  for (let i = 0; i < n; i++) off += all.write(octet ? `${LINE - 1} ${message(i)}` : `${message(i)}\n`, off, 'latin1');
  const chunks: Buffer[] = [];
  // Copies, not views: each chunk is its own buffer, as a socket would hand them out.
  for (let i = 0; i < off; i += CHUNK) chunks.push(Buffer.from(all.subarray(i, Math.min(off, i + CHUNK))));
  return chunks;
}

let frames = 0;
let bytes = 0;
const sink: FrameSink = (_buf, start, end) => {
  frames++;
  bytes += end - start;
};

function baseline(chunks: Buffer[]): void {
  let n = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    const len = c.length;
    let pos = 0;
    while (pos < len) {
      const e = c.indexOf(10, pos);
      if (e === -1) break;
      n++;
      pos = e + 1;
    }
  }
  frames += n;
}

function runFramer(make: () => Framer): (chunks: Buffer[]) => void {
  return (chunks) => {
    const f = make();
    for (const c of chunks) f.push(c, sink);
    f.end(sink);
  };
}

/**
 * As a listener frames: into a BatchBuilder (flushed after each chunk), whose sink also
 * takes many frames at once — the octet framer's native run (native/octet_frames.cc)
 * unless `native` is false.
 */
function intoBatches(make: () => Framer, native: boolean): (chunks: Buffer[]) => void {
  return (chunks) => {
    setNativeOctet(native);
    try {
      const builder = new BatchBuilder({ listener: 'bench', transport: 'tcp', peer: '-' }, (b) => {
        frames += b.count;
        bytes += b.bytes;
      });
      const f = make();
      for (const c of chunks) {
        f.push(c, builder.emit);
        builder.flush();
      }
      f.end(builder.emit);
      builder.flush();
    } finally {
      setNativeOctet(true);
    }
  };
}

interface Case {
  name: string;
  chunks: Buffer[];
  fn: (chunks: Buffer[]) => void;
  best: number;
  frames: number;
}

function timeOnce(c: Case): number {
  frames = 0;
  bytes = 0;
  const t0 = process.hrtime.bigint();
  c.fn(c.chunks);
  const ns = Number(process.hrtime.bigint() - t0);
  c.frames = frames;
  return ns;
}

const opts = (mode: FramerOptions['mode'], nulDelimiter = false): FramerOptions => ({
  mode,
  maxFrame: 64 * 1024,
  onOversize: 'truncate',
  nulDelimiter,
});

const lfInput = build(false);
const octetInput = build(true);
const expected = Math.floor(TOTAL / LINE);

const cases: Case[] = [
  ['baseline (indexOf only)', lfInput, baseline],
  ['LfFramer', lfInput, runFramer(() => createFramer(opts('lf')))],
  ['LfFramer, nulDelimiter', lfInput, runFramer(() => createFramer(opts('lf', true)))],
  ['auto, LF input', lfInput, runFramer(() => createFramer(opts('auto')))],
  ['auto, octet input', octetInput, runFramer(() => createFramer(opts('auto')))],
  ['octet, octet input', octetInput, runFramer(() => createFramer(opts('octet')))],
  ['octet → batches, by frame', octetInput, intoBatches(() => createFramer(opts('octet')), false)],
  ['octet → batches, native', octetInput, intoBatches(() => createFramer(opts('octet')), true)],
  ['auto, LF → batches, by frame', lfInput, intoBatches(() => createFramer(opts('auto')), false)],
  ['auto, LF → batches, native', lfInput, intoBatches(() => createFramer(opts('auto')), true)],
].map(([name, chunks, fn]) => ({ name, chunks, fn, best: Infinity, frames: 0 }) as Case);

for (const c of cases) timeOnce(c); // warm-up
for (let r = 0; r < REPS; r++) for (const c of cases) c.best = Math.min(c.best, timeOnce(c));

const size = (c: Case): number => c.chunks.reduce((a, x) => a + x.length, 0);
const mbs = (c: Case): number => size(c) / MiB / (c.best / 1e9);
const base = mbs(cases[0]!);
const pad = (s: string, n: number): string => s.padEnd(n);
const num = (x: number, d = 0): string => x.toFixed(d).padStart(9);
console.log(`framing: ${(TOTAL / MiB).toFixed(0)} MiB of ${LINE}-byte lines, ${CHUNK.toLocaleString('en-US')}-byte chunks, best of ${REPS}, node ${process.version}`);
console.log(`${pad('case', 30)}      MB/s   Mframe/s  vs baseline`);
for (const c of cases) {
  const ok = c.frames === expected ? '' : `  (!! ${c.frames} frames, expected ${expected})`;
  console.log(`${pad(c.name, 30)}${num(mbs(c))}  ${num(c.frames / (c.best / 1e9) / 1e6, 2)}  ${num(mbs(c) / base, 2)}${ok}`);
}
