/**
 * The datagram listeners on both receive paths: the native recvmmsg receiver
 * (default when built) and the per-datagram fallback (RINGLOG_NATIVE=off). Each
 * path must give the same records: one per datagram, trailing delimiter stripped,
 * max-frame applied, the sender named, IPv4 senders on a dual-stack socket shown as IPv4.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import { makeTempDir, removeDir, readNdjson, ndjsonOutput, outputReaches, metricReaches, ipv6LoopbackWorks } from './helpers.js';
import { loadNative } from '../../src/native/dgram-receiver.js';

const dirs: string[] = [];
const servers: RinglogServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) removeDir(d);
});

interface UnixDgramClient {
  connect(path: string): void;
  send(buf: Buffer, cb?: (err?: Error) => void): void;
  close(): void;
  on(ev: string, cb: (...a: unknown[]) => void): void;
}

function sendUdp(port: number, host: string, msgs: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let i = 0;
    const next = (): void => {
      if (i === msgs.length) {
        const { port: local } = s.address();
        s.close();
        resolve(local);
        return;
      }
      s.send(msgs[i++]!, port, host, (err) => (err ? reject(err) : next()));
    };
    s.bind(0, host, next);
  });
}

function sendUnix(file: string, msgs: Buffer[]): Promise<void> {
  const require = createRequire(import.meta.url);
  const unix = require('unix-dgram') as { createSocket(t: 'unix_dgram'): UnixDgramClient };
  return new Promise((resolve, reject) => {
    const c = unix.createSocket('unix_dgram');
    c.on('error', (e) => reject(e as Error));
    c.on('connect', () => {
      let i = 0;
      const next = (): void => {
        if (i === msgs.length) {
          c.close();
          resolve();
          return;
        }
        c.send(msgs[i++]!, (err?: Error) => (err ? reject(err) : next()));
      };
      next();
    });
    c.connect(file);
  });
}

for (const mode of ['native', 'fallback'] as const) {
  test(`${mode} path: one record per datagram, delimiters stripped, max-frame applied, senders named`, { timeout: 30_000 }, async (t) => {
    if (mode === 'native' && !loadNative()) {
      t.skip('the native addon is not built here');
      return;
    }
    const dir = makeTempDir(`dgram-${mode}`);
    dirs.push(dir);
    const out = path.join(dir, 'out.ndjson');
    const sock = path.join(dir, 'log.sock');
    const six = await ipv6LoopbackWorks();
    const srv = await startServer({
      tcp: false,
      udp: six ? '[::]:0' : '127.0.0.1:0',
      output: ndjsonOutput(out).output,
      args: ['--unix-dgram', sock, '--max-frame', '256'],
      expectListeners: ['unix-dgram'],
      env: { ...process.env, RINGLOG_NATIVE: mode === 'native' ? 'on' : 'off' },
    });
    servers.push(srv);
    const port = srv.listener('udp').port!;
    const big = Buffer.alloc(1000, 'b');
    const udp = [Buffer.from('plain'), Buffer.from('with lf\n'), Buffer.from('with crlf\r\n'), Buffer.from('with nul\0'), big, Buffer.from('')];
    const local4 = await sendUdp(port, '127.0.0.1', udp);
    await sendUnix(sock, [Buffer.from('unix one\n'), Buffer.from('unix two')]);
    let local6 = 0;
    if (six) local6 = await sendUdp(port, '::1', [Buffer.from('over ipv6')]);
    const expected = 5 + 2 + (six ? 1 : 0); // the empty datagram yields nothing
    await outputReaches(srv, out, expected);
    const recs = readNdjson(out);
    const udpRecs = recs.filter((r) => r.source.transport === 'udp');
    const byMsg = new Map(udpRecs.map((r) => [r.message, r]));
    for (const m of ['plain', 'with lf', 'with crlf', 'with nul']) {
      assert.equal(byMsg.get(m)?.source.peer, `127.0.0.1:${local4}`, `"${m}" from 127.0.0.1:${local4}`);
    }
    const cut = udpRecs.find((r) => r.truncated);
    assert.ok(cut, 'the 1000-byte datagram is kept, truncated');
    assert.equal(cut.message, 'b'.repeat(256));
    if (six) assert.equal(byMsg.get('over ipv6')?.source.peer, `[::1]:${local6}`);
    const unixRecs = recs.filter((r) => r.source.transport === 'unix-dgram').map((r) => [r.message, r.source.peer]);
    assert.deepEqual(unixRecs, [['unix one', sock], ['unix two', sock]]);
    assert.equal(recs.length, expected, 'nothing else, nothing twice');
    assert.equal(await metricReaches(srv, 'ringlog_frames_truncated_total', { listener: 'udp' }, 1), 1);
    assert.equal(await srv.metric('ringlog_received_frames_total', { listener: 'udp' }), 5 + (six ? 1 : 0));
  });
}

test('native path: with on-oversize=drop the long datagram is dropped and counted, the rest kept in order', { timeout: 30_000 }, async (t) => {
  if (!loadNative()) {
    t.skip('the native addon is not built here');
    return;
  }
  const dir = makeTempDir('dgram-drop');
  dirs.push(dir);
  const out = path.join(dir, 'out.ndjson');
  const srv = await startServer({ tcp: false, udp: '127.0.0.1:0', output: ndjsonOutput(out).output, args: ['--max-frame', '100', '--on-oversize', 'drop'] });
  servers.push(srv);
  const msgs = Array.from({ length: 300 }, (_, i) => Buffer.from(i % 3 === 1 ? `long ${i} ${'x'.repeat(200)}` : `short ${i}`));
  await sendUdp(srv.listener('udp').port!, '127.0.0.1', msgs);
  await outputReaches(srv, out, 200);
  assert.deepEqual(readNdjson(out).map((r) => r.message), msgs.filter((_, i) => i % 3 !== 1).map(String));
  assert.equal(await metricReaches(srv, 'ringlog_dropped_total', { listener: 'udp', reason: 'oversize' }, 100), 100);
});
