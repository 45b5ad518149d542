import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setHeapGrowth } from './heap-growth.js';

/**
 * In a child process (V8 flags are process-wide): sets the growth, keeps ~16 MiB live,
 * then allocates batches that live a little while (so they are promoted and die in the
 * old generation), and prints how many mark-compacts that took.
 */
function majorGcs(percent: number): number {
  const script = `
    import { setHeapGrowth } from ${JSON.stringify(new URL('./heap-growth.js', import.meta.url).href)};
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    setHeapGrowth(${percent});
    let major = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; }).observe({ entryTypes: ['gc'] });
    const live = [];
    for (let i = 0; i < 200000; i++) live.push({ a: i, b: String(i) });
    const recent = [];
    for (let r = 0; r < 3000; r++) {
      const batch = [];
      for (let i = 0; i < 10000; i++) batch.push({ x: i, y: [i] });
      recent.push(batch);
      if (recent.length > 8) recent.shift();
    }
    setTimeout(() => process.stdout.write(major + ' ' + live.length), 50);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.split(' ')[0]);
}

// Two settings far apart, not one against V8's own factor: that factor adapts to how much
// of the time goes to GC, and on a busy machine (the test suite runs files in parallel)
// it came within 1.5x of 1000% (6 mark-compacts against 9).
test('setting the heap growth at run time takes effect: a large growth leaves far fewer mark-compacts than a small one', () => {
  const small = majorGcs(10);
  const large = majorGcs(1000);
  assert.ok(small >= 8, `the workload needs many mark-compacts with a growth of 10% (${small})`);
  assert.ok(large * 4 <= small, `with 1000%: ${large} mark-compacts, against ${small} with 10%`);
});

test('the heap growth must be a whole number ≥ 0', () => {
  assert.throws(() => setHeapGrowth(-1), RangeError);
  assert.throws(() => setHeapGrowth(1.5), RangeError);
  setHeapGrowth(0); // V8's own factor: sets nothing
});
