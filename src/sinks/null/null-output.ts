/** An output that counts records and discards them: for benchmarks of the edge alone. */
import type { FrameBatch } from '../../pipeline/batch.js';
import type { Output } from '../../pipeline/pipeline.js';
import type { Metrics } from '../../metrics/metrics.js';

export class NullOutput implements Output {
  readonly name = 'null';
  records = 0;
  constructor(private readonly metrics: Metrics) {}

  write(batches: FrameBatch[]): void {
    let n = 0;
    let bytes = 0;
    for (const b of batches) {
      n += b.count;
      bytes += b.bytes;
    }
    this.records += n;
    this.metrics.outputRecords.inc({ output: this.name }, n);
    this.metrics.outputBytes.inc({ output: this.name }, bytes);
    this.metrics.outputLastWrite.set({ output: this.name }, Date.now() / 1000);
  }

  async close(): Promise<void> {}
}
