/**
 * The idle sweep and a busy event loop: a server whose event loop was blocked for
 * longer than the idle limit has reads waiting for it. The first thing the loop runs
 * afterwards may be the sweep timer (timers come before the poll phase), and every
 * connection then looks quiet. None may be closed for that: the real `ringlog bench`
 * keeps sending through the block, and must finish cleanly with every message received.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RinglogServer } from '../../src/main.js';
import { loadConfig } from '../../src/config/load.js';
import { runBenchCli, removeDir, sleep, tempDir } from './lifecycle-helpers.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) removeDir(d);
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A counter's sum over the series with `labels`, as a scrape would give it (text() moves the hot-path counts in first). */
async function counter(srv: RinglogServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  await srv.metrics.text();
  const m = await srv.metrics.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

test('a connection is not closed as idle because the server\'s own event loop was busy', { timeout: 60_000 }, async () => {
  const dir = tempDir('idle-sweep');
  dirs.push(dir);
  const port = await freePort();
  const config = loadConfig({
    env: {},
    flags: { tcp: [`127.0.0.1:${port}`], http: 'off', store: false, output: ['null'], idleTimeout: '1s', dataDir: dir, logLevel: 'warn' },
  });
  const srv = new RinglogServer(config);
  await srv.start();
  try {
    const N = 8_000;
    // 2,000 messages/s over one connection: about 4 s of sending, a write every millisecond or so.
    const bench = runBenchCli(['--target', `127.0.0.1:${port}`, '--connections', '1', '--messages', String(N), '--rate', '2000', '--json-summary']);
    while ((await counter(srv, 'ringlog_received_frames_total')) < 1_000) await sleep(20);
    // Block the event loop for 1.6 idle limits, after a poll phase (setImmediate): the next
    // loop turn starts with the sweep timer, before its poll phase has read what the
    // sender sent meanwhile.
    await new Promise<void>((resolve) => {
      setImmediate(() => {
        const until = Date.now() + 1_600;
        while (Date.now() < until) { /* busy: the server's own event loop is stuck */ }
        resolve();
      });
    });
    const r = await bench.result;
    assert.equal(r.code, 0, `ringlog bench must finish cleanly:\n${r.stderr}`);
    const deadline = Date.now() + 10_000;
    while ((await counter(srv, 'ringlog_received_frames_total')) < N && Date.now() < deadline) await sleep(50);
    assert.equal(await counter(srv, 'ringlog_received_frames_total'), N, 'every message received');
    assert.equal(await counter(srv, 'ringlog_connections_closed_total', { reason: 'idle_timeout' }), 0, 'no connection closed as idle');
  } finally {
    await srv.stop();
  }
});
