import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline, type Output } from './pipeline.js';
import { BatchBuilder, type FrameBatch } from './batch.js';
import { Metrics } from '../metrics/metrics.js';
import { Logger } from '../log.js';
import { ParseStage } from '../protocols/formats/parse-stage.js';
import type { RecordBatch } from '../record/record-batch.js';

const quiet = new Logger('error', 'logfmt', () => {});
const source = { listener: 't', transport: 'tcp' as const, peer: 'p' };

const stage = new ParseStage('raw');

function batchOf(text: string): RecordBatch {
  let out: FrameBatch | null = null;
  const b = new BatchBuilder(source, (x) => (out = x));
  const buf = Buffer.from(text);
  b.stamp(1);
  b.add(buf, 0, buf.length, 0);
  b.flush();
  return stage.parse(out!);
}

/** An output that writes nothing until `open()` is called: stands for a stalled disk or downstream. */
class GatedOutput implements Output {
  readonly name = 'gated';
  readonly written: string[] = [];
  private gate: Promise<void>;
  open!: () => void;
  constructor() {
    this.gate = new Promise((r) => (this.open = r));
  }
  async write(batches: RecordBatch[]): Promise<void> {
    await this.gate;
    for (const b of batches) for (let i = 0; i < b.count; i++) this.written.push(b.buf.toString('utf8', b.offsets[2 * i], b.offsets[2 * i + 1]));
  }
  async close(): Promise<void> {}
}

test('push() turns false at the high watermark and resume fires under the low one', async () => {
  const out = new GatedOutput();
  // Each batch retains its 30-byte buffer, 8 bytes of offsets and its columns; the third one crosses the high watermark.
  const per = batchOf(''.padEnd(30, '.')).retained;
  const p = new Pipeline({ highWatermark: per * 3 + 10, lowWatermark: per + 2 }, [out], new Metrics({ processMetrics: false }), quiet);
  let resumed = 0;
  p.on('resume', () => resumed++);
  const accepted: boolean[] = [];
  for (let i = 0; i < 6; i++) accepted.push(p.push(batchOf(`message ${i} `.padEnd(30, '.'))));
  assert.deepEqual(accepted, [true, true, true, false, false, false]);
  assert.equal(p.paused, true);
  assert.equal(p.offer(batchOf('datagram')), false, 'datagrams are refused while paused');
  assert.equal(resumed, 0);
  out.open();
  await p.drain();
  assert.equal(resumed, 1);
  assert.equal(p.paused, false);
  assert.equal(p.queuedBytes, 0);
  assert.equal(out.written.length, 6, 'every pushed batch is written, none of the refused');
  assert.match(out.written[5]!, /^message 5 /);
});

test('a failing output is retried until it succeeds; the others get each batch once', async () => {
  let failures = 2;
  const flaky: Output & { got: number } = {
    name: 'flaky',
    got: 0,
    write(batches) {
      if (failures > 0) {
        failures--;
        throw new Error('ENOSPC: no space left on device');
      }
      this.got += batches.length;
    },
    async close() {},
  };
  const steady: Output & { got: number } = { name: 'steady', got: 0, write(b) { this.got += b.length; }, async close() {} };
  const metrics = new Metrics({ processMetrics: false });
  const p = new Pipeline({ highWatermark: 1 << 20, lowWatermark: 1 << 19 }, [flaky, steady], metrics, quiet);
  p.push(batchOf('one'));
  await p.drain();
  assert.equal(flaky.got, 1);
  assert.equal(steady.got, 1);
  assert.match(await metrics.text(), /ringlog_output_errors_total\{output="flaky"\} 2/);
  await p.close();
});

test('close() writes what is queued before closing the outputs', async () => {
  const out = new GatedOutput();
  let closed = false;
  out.close = async () => {
    closed = true;
  };
  const p = new Pipeline({ highWatermark: 1 << 20, lowWatermark: 1 << 19 }, [out], new Metrics({ processMetrics: false }), quiet);
  for (let i = 0; i < 10; i++) p.push(batchOf(`m${i}`));
  const closing = p.close();
  setTimeout(() => out.open(), 20);
  await closing;
  assert.equal(out.written.length, 10);
  assert.equal(closed, true);
});

test('BatchBuilder starts a new batch when the buffer changes and keeps flags', () => {
  const got: FrameBatch[] = [];
  const b = new BatchBuilder(source, (x) => got.push(x));
  const a = Buffer.from('aaa\nbbb\n');
  const c = Buffer.from('ccc');
  b.add(a, 0, 3, 0);
  b.add(a, 4, 7, 1);
  b.add(c, 0, 3, 0);
  b.flush();
  assert.equal(got.length, 2);
  assert.deepEqual([...got[0]!.offsets], [0, 3, 4, 7]);
  assert.deepEqual([...got[0]!.flags!], [0, 1]);
  assert.equal(got[1]!.flags, null);
  assert.equal(got[0]!.bytes, 6);
  for (let i = 0; i < 5000; i++) b.add(a, 0, 3, 0);
  b.flush();
  assert.equal(got[2]!.count, 5000);
  // More offsets than a whole pool holds: the open batch moves to a bigger pool intact.
  for (let i = 0; i < 50_000; i++) b.add(a, i % 4, (i % 4) + 1, i === 49_999 ? 1 : 0);
  b.flush();
  const big = got[3]!;
  assert.equal(big.count, 50_000);
  assert.equal(big.offsets[2 * 49_998], 49_998 % 4);
  assert.equal(big.offsets[2 * 49_999 + 1], (49_999 % 4) + 1);
  assert.equal(big.flags![49_999], 1);
  assert.equal(big.flags![49_998], 0);
  // Batches handed out earlier are untouched by later ones.
  assert.deepEqual([...got[0]!.offsets], [0, 3, 4, 7]);
});

test('BatchBuilder: two connections interleaving never mix their frames', () => {
  const got: FrameBatch[] = [];
  const x = new BatchBuilder({ ...source, peer: 'x' }, (b) => got.push(b));
  const y = new BatchBuilder({ ...source, peer: 'y' }, (b) => got.push(b));
  const bx = Buffer.from('xxxx');
  const by = Buffer.from('yyyy');
  x.add(bx, 0, 1, 0);
  y.add(by, 1, 2, 0); // takes the pool: x's open batch is flushed first
  x.add(bx, 2, 3, 0);
  x.flush();
  y.flush();
  assert.deepEqual(got.map((b) => [b.source.peer, [...b.offsets]]), [['x', [0, 1]], ['y', [1, 2]], ['x', [2, 3]]]);
});

test('BatchBuilder emit.many: many frames at once, the same batches as one by one (flags kept, pools grown, owners switched)', () => {
  const a = Buffer.from('aaaa\nbbbb\n');
  const c = Buffer.from('cc');
  const offsets = new Uint32Array(2 * 40_000);
  for (let k = 0; k < 40_000; k++) {
    offsets[2 * k] = k % 5;
    offsets[2 * k + 1] = (k % 5) + 1;
  }
  const snap = (bs: FrameBatch[]) => bs.map((x) => [x.buf.toString(), [...x.offsets], x.flags && [...x.flags], x.count, x.bytes, x.source.peer]);
  const runs = (many: boolean) => {
    const got: FrameBatch[] = [];
    const x = new BatchBuilder({ ...source, peer: 'x' }, (b) => got.push(b));
    const y = new BatchBuilder({ ...source, peer: 'y' }, (b) => got.push(b));
    const put = (bb: BatchBuilder, buf: Buffer, from: number, n: number) => {
      const o = offsets.subarray(2 * from, 2 * (from + n));
      let bytes = 0;
      for (let k = 0; k < n; k++) bytes += o[2 * k + 1]! - o[2 * k]!;
      if (many) bb.emit.many!(buf, o, n, bytes);
      else for (let k = 0; k < n; k++) bb.emit(buf, o[2 * k]!, o[2 * k + 1]!, 0);
    };
    x.emit(a, 0, 4, 1); // a flagged frame, then many unflagged ones in the same batch
    put(x, a, 0, 3);
    put(y, a, 3, 2); // takes the pool: x's open batch goes first
    put(x, c, 0, 1);
    put(x, a, 0, 40_000); // another buffer: a new batch, past a whole pool
    x.flush();
    y.flush();
    return snap(got);
  };
  const many = runs(true);
  assert.deepEqual(many, runs(false));
  assert.deepEqual(many.map((b) => b[3]), [4, 2, 1, 40_000]);
  assert.deepEqual(many[0]![2], [1, 0, 0, 0]);
});
