import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { parseSeq, type Framing, type MessageFormat } from './payload.js';
import { runBench, runIdle, type BenchOptions } from './runner.js';
import { LoadgenError } from './transports.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(repoRoot, 'bin', 'ringlog.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ringlog-loadgen-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Splits one connection's byte stream into frames (lf or octet counting). */
class Deframer {
  private pending = Buffer.alloc(0);
  constructor(private readonly framing: Framing, private readonly emit: (frame: string) => void) {}
  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      if (this.framing === 'lf') {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) break;
        this.emit(buf.toString('latin1', pos, nl));
        pos = nl + 1;
      } else {
        const sp = buf.indexOf(32, pos);
        if (sp < 0) break;
        const len = Number(buf.toString('latin1', pos, sp));
        assert.ok(Number.isInteger(len) && len > 0, `bad octet count at ${pos}`);
        if (buf.length < sp + 1 + len) break;
        this.emit(buf.toString('latin1', sp + 1, sp + 1 + len));
        pos = sp + 1 + len;
      }
    }
    buf = buf.subarray(pos);
    this.pending = Buffer.from(buf);
  }
}

interface Collector {
  port: number;
  frames: string[];
  connections: number;
  /** Resolves when `n` frames have arrived and every connection has closed. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function collect(server: net.Server, framing: Framing, listenArgs: net.ListenOptions): Promise<Collector> {
  const frames: string[] = [];
  let open = 0;
  let total = 0;
  const waiters: (() => void)[] = [];
  const check = () => waiters.forEach((w) => w());
  server.on('connection', (sock) => onConn(sock));
  server.on('secureConnection', (sock) => onConn(sock));
  function onConn(sock: net.Socket): void {
    if (server instanceof tls.Server && !(sock instanceof tls.TLSSocket)) return;
    open++;
    total++;
    const d = new Deframer(framing, (f) => frames.push(f));
    sock.on('data', (c: Buffer) => {
      d.push(c);
      check();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      open--;
      check();
    });
  }
  return new Promise((resolve) => {
    server.listen(listenArgs, () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : 0,
        frames,
        get connections() {
          return total;
        },
        waitFor(n, timeoutMs = 20_000) {
          return new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`timed out: ${frames.length}/${n} frames, ${open} open`)), timeoutMs);
            const w = () => {
              if (frames.length >= n && open === 0) {
                clearTimeout(timer);
                res();
              }
            };
            waiters.push(w);
            w();
          });
        },
        close: () => new Promise((res) => server.close(() => res())),
      });
    });
  });
}

function tcpCollector(framing: Framing = 'lf'): Promise<Collector> {
  return collect(net.createServer(), framing, { host: '127.0.0.1', port: 0 });
}

/** Asserts the frames carry seqs 0..n-1 exactly once, increasing within each connection. */
function assertSeqs(frames: string[], n: number, connections: number): void {
  assert.equal(frames.length, n, 'message count');
  const seen = new Uint8Array(n);
  const lastByConn = new Map<number, number>();
  for (const f of frames) {
    const p = parseSeq(f);
    assert.ok(p, `no seq in ${JSON.stringify(f.slice(0, 100))}`);
    assert.ok(p.seq >= 0 && p.seq < n, `seq ${p.seq} out of range`);
    assert.equal(seen[p.seq], 0, `seq ${p.seq} twice`);
    seen[p.seq] = 1;
    assert.ok(p.conn >= 0 && p.conn < connections, `conn ${p.conn}`);
    const last = lastByConn.get(p.conn) ?? -1;
    assert.ok(p.seq > last, `conn ${p.conn}: seq ${p.seq} after ${last}`);
    lastByConn.set(p.conn, p.seq);
  }
  assert.equal(lastByConn.size, connections, 'every connection sent something');
}

/** Asserts each connection sent its equal share of the n messages. */
function assertShares(frames: string[], n: number, connections: number): void {
  const counts = new Array<number>(connections).fill(0);
  for (const f of frames) counts[parseSeq(f)!.conn]!++;
  const share = Math.floor(n / connections);
  counts.forEach((c, i) => assert.equal(c, share + (i < n % connections ? 1 : 0), `conn ${i} sent ${c}`));
}

function base(port: number, extra: Partial<BenchOptions> = {}): BenchOptions {
  return {
    transport: 'tcp',
    host: '127.0.0.1',
    port,
    connections: 1,
    messages: 1000,
    size: 128,
    framing: 'lf',
    format: 'rfc5424',
    ...extra,
  };
}

describe('runBench over TCP', () => {
  for (const connections of [1, 5]) {
    it(`delivers exactly N messages with seqs 0..N-1 once (${connections} connection(s))`, async () => {
      const c = await tcpCollector();
      try {
        const n = 100_003; // not a multiple of the chunk size or of the connection count
        const s = await runBench(base(c.port, { connections, messages: n }));
        assert.equal(s.messages, n);
        assert.equal(s.bytes, n * 128);
        assert.equal(s.senderDrops, 0);
        assert.ok(s.seconds > 0 && s.msgsPerSec > 0 && s.mbPerSec > 0);
        await c.waitFor(n);
        assert.equal(c.connections, connections);
        assertSeqs(c.frames, n, connections);
        assertShares(c.frames, n, connections);
        for (const f of c.frames) assert.equal(f.length, 127);
      } finally {
        await c.close();
      }
    });
  }

  for (const [format, framing, size] of [['json', 'octet', 300], ['rfc3164', 'lf', 100], ['rfc5424', 'octet', 128]] as const) {
    it(`${format}/${framing} frames arrive intact`, async () => {
      const c = await tcpCollector(framing as Framing);
      try {
        const n = 5000;
        await runBench(base(c.port, { connections: 3, messages: n, format: format as MessageFormat, framing: framing as Framing, size, chunkBytes: 4096 }));
        await c.waitFor(n);
        assertSeqs(c.frames, n, 3);
        if (format === 'json') for (const f of c.frames.slice(0, 50)) JSON.parse(f);
      } finally {
        await c.close();
      }
    });
  }

  it('splits --messages evenly over many connections', async () => {
    const c = await tcpCollector();
    try {
      const n = 10_007;
      await runBench(base(c.port, { connections: 100, messages: n }));
      await c.waitFor(n);
      assertSeqs(c.frames, n, 100);
      assertShares(c.frames, n, 100);
    } finally {
      await c.close();
    }
  });

  it('sends nothing for --messages 0 and still finishes', async () => {
    const c = await tcpCollector();
    try {
      const s = await runBench(base(c.port, { messages: 0, connections: 2 }));
      assert.equal(s.messages, 0);
      await c.waitFor(0);
      assert.equal(c.frames.length, 0);
    } finally {
      await c.close();
    }
  });

  it('roughly respects --rate (token bucket)', async () => {
    const c = await tcpCollector();
    try {
      const rate = 2000;
      const n = 1000; // ~0.5 s at 2000/s
      const t0 = performance.now();
      const s = await runBench(base(c.port, { connections: 2, messages: n, rate }));
      const elapsed = (performance.now() - t0) / 1000;
      assert.equal(s.messages, n);
      // Generous bounds: not faster than ~2x the rate, and not absurdly slow.
      assert.ok(elapsed >= 0.2, `too fast: ${n} msgs in ${elapsed.toFixed(3)} s at rate ${rate}`);
      assert.ok(elapsed < 5, `too slow: ${elapsed.toFixed(3)} s`);
      await c.waitFor(n);
      assertSeqs(c.frames, n, 2);
    } finally {
      await c.close();
    }
  });

  it('stops at --duration', async () => {
    const c = await tcpCollector();
    try {
      const t0 = performance.now();
      const s = await runBench(base(c.port, { messages: undefined, durationSec: 0.5, rate: 10_000 }));
      const elapsed = (performance.now() - t0) / 1000;
      assert.ok(elapsed >= 0.4 && elapsed < 5, `elapsed ${elapsed}`);
      assert.ok(s.messages > 100 && s.messages <= 10_000, `messages ${s.messages}`);
      await c.waitFor(s.messages);
      assertSeqs(c.frames, s.messages, 1);
    } finally {
      await c.close();
    }
  });

  it('stops early when aborted, with a consistent stream', async () => {
    const c = await tcpCollector();
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      const s = await runBench(base(c.port, { messages: 1_000_000, rate: 5000, signal: ac.signal }));
      assert.ok(s.interrupted);
      assert.ok(s.messages < 1_000_000);
      await c.waitFor(s.messages);
      assertSeqs(c.frames, s.messages, 1);
    } finally {
      await c.close();
    }
  });

  it('fails clearly with ECONNREFUSED', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await assert.rejects(runBench(base(port)), (err: Error) => {
      assert.ok(err instanceof LoadgenError);
      assert.match(err.message, /cannot connect to tcp 127\.0\.0\.1:\d+: .*ECONNREFUSED.*nothing is listening/);
      return true;
    });
  });

  it('fails clearly when the server drops the connection mid-run', async () => {
    const srv = net.createServer((sock) => {
      sock.once('data', () => sock.destroy());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      await assert.rejects(runBench(base(port, { messages: 50_000_000 })), /connection 0 to tcp 127\.0\.0\.1:\d+ failed/);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('rejects bad options', async () => {
    await assert.rejects(runBench(base(1, { size: 10 })), /too small/);
    await assert.rejects(runBench(base(1, { transport: 'udp', framing: 'octet' })), /octet is for stream transports/);
    await assert.rejects(runBench(base(1, { connections: 0 })), /--connections/);
  });
});

describe('runBench over other transports', () => {
  it('unix stream socket', async () => {
    const sockPath = path.join(tmp, 'stream.sock');
    const c = await collect(net.createServer(), 'lf', { path: sockPath });
    try {
      const n = 20_000;
      const s = await runBench({ ...base(0, { connections: 2, messages: n }), transport: 'unix', path: sockPath });
      assert.equal(s.target, `unix ${sockPath}`);
      await c.waitFor(n);
      assertSeqs(c.frames, n, 2);
    } finally {
      await c.close();
    }
  });

  it('tls (self-signed, --insecure and --ca)', async (t) => {
    const key = path.join(tmp, 'key.pem');
    const cert = path.join(tmp, 'cert.pem');
    const ok = await new Promise<boolean>((resolve) => {
      execFile('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], (err) => resolve(!err));
    });
    if (!ok) {
      t.skip('openssl is not available');
      return;
    }
    const c = await collect(tls.createServer({ key: readFileSync(key), cert: readFileSync(cert) }), 'lf', { host: '127.0.0.1', port: 0 });
    try {
      const n = 10_000;
      await runBench({ ...base(c.port, { connections: 2, messages: n }), transport: 'tls', tls: { insecure: true } });
      await c.waitFor(n);
      assertSeqs(c.frames, n, 2);
      c.frames.length = 0;
      await runBench({ ...base(c.port, { messages: 100 }), transport: 'tls', tls: { ca: readFileSync(cert) } });
      await c.waitFor(100);
      // Without --insecure or --ca, a self-signed certificate is refused.
      await assert.rejects(runBench({ ...base(c.port), transport: 'tls' }), /cannot connect to tls .*self-signed/);
    } finally {
      await c.close();
    }
  });

  it('udp: one datagram per message, drops counted, never more than sent', async () => {
    const sock = dgram.createSocket('udp4');
    const got: string[] = [];
    sock.on('message', (m) => got.push(m.toString('latin1')));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      sock.setRecvBufferSize(8 * 1024 * 1024);
    } catch {
      /* capped by the kernel */
    }
    try {
      const n = 3000;
      const s = await runBench({ ...base(sock.address().port, { connections: 2, messages: n, rate: 20_000 }), transport: 'udp' });
      assert.equal(s.messages + s.senderDrops, n);
      const deadline = Date.now() + 3000;
      while (got.length < s.messages && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(got.length <= n);
      assert.ok(got.length > n / 2, `received ${got.length}/${n}`);
      const seqs = new Set<number>();
      for (const m of got) {
        assert.equal(m.length, 128);
        assert.ok(m.endsWith('\n'));
        const p = parseSeq(m);
        assert.ok(p && p.seq < n && !seqs.has(p.seq));
        seqs.add(p.seq);
      }
    } finally {
      sock.close();
    }
  });

  it('unix-dgram: lossless thanks to congestion waits', async () => {
    const require = createRequire(import.meta.url);
    const unixDgram = require('unix-dgram') as {
      createSocket(type: 'unix_dgram', cb: (buf: Buffer) => void): { bind(p: string): void; close(): void; on(e: string, f: (...a: unknown[]) => void): void };
    };
    const sockPath = path.join(tmp, 'dgram.sock');
    const got: string[] = [];
    const rx = unixDgram.createSocket('unix_dgram', (buf) => got.push(buf.toString('latin1')));
    rx.on('error', () => {});
    rx.bind(sockPath);
    try {
      const n = 20_000;
      const s = await runBench({ ...base(0, { connections: 2, messages: n }), transport: 'unix-dgram', path: sockPath });
      assert.equal(s.messages, n);
      assert.equal(s.senderDrops, 0);
      const deadline = Date.now() + 5000;
      while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assertSeqs(got.map((m) => m.replace(/\n$/, '')), n, 2);
    } finally {
      rx.close();
    }
  });

  it('unix-dgram: clear error when nobody listens', async () => {
    await assert.rejects(
      runBench({ ...base(0), transport: 'unix-dgram', path: path.join(tmp, 'nobody.sock') }),
      /cannot connect to unix-dgram .*nobody\.sock: connect ENOENT/);
  });
});

describe('runIdle', () => {
  it('opens N connections, sends nothing, holds until aborted', async () => {
    const c = await tcpCollector();
    try {
      const ac = new AbortController();
      let ready = false;
      const done = runIdle({
        transport: 'tcp', host: '127.0.0.1', port: c.port, connections: 200, signal: ac.signal,
        onReady: () => {
          ready = true;
          setTimeout(() => ac.abort(), 100);
        },
      });
      const s = await done;
      assert.ok(ready);
      assert.equal(s.connections, 200);
      assert.equal(c.connections, 200);
      assert.equal(s.closedByPeer, 0);
      await c.waitFor(0);
      assert.equal(c.frames.length, 0);
    } finally {
      await c.close();
    }
  });

  it('holds for --duration', async () => {
    const c = await tcpCollector();
    try {
      const s = await runIdle({ transport: 'tcp', host: '127.0.0.1', port: c.port, connections: 3, durationSec: 0.2 });
      assert.ok(s.heldSeconds >= 0.15);
    } finally {
      await c.close();
    }
  });
});

/** Runs the real CLI; resolves with exit code and output. */
function cli(args: string[], signalAfterReady?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (signalAfterReady && !signalled && stdout.includes('ready\n')) {
        signalled = true;
        p.kill(signalAfterReady);
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('ringlog bench (CLI)', () => {
  it('--json-summary prints one JSON object', async () => {
    const c = await tcpCollector();
    try {
      const r = await cli(['--target', `127.0.0.1:${c.port}`, '--connections', '3', '--messages', '30000', '--json-summary', '--format', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const s = JSON.parse(lines[0]!) as Record<string, number>;
      assert.equal(s.messages, 30000);
      assert.equal(s.bytes, 30000 * 128);
      for (const k of ['seconds', 'msgsPerSec', 'mbPerSec', 'senderDrops']) assert.equal(typeof s[k], 'number', k);
      await c.waitFor(30000);
      assertSeqs(c.frames, 30000, 3);
    } finally {
      await c.close();
    }
  });

  it('human summary without a TTY has no progress bar', async () => {
    const c = await tcpCollector();
    try {
      const r = await cli(['--target', `127.0.0.1:${c.port}`, '--messages', '1000']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^transport +tcp 127\.0\.0\.1:\d+ \(1 connection, rfc5424\/lf, 128 B\)\nmessages +1,000\n/);
      assert.match(r.stdout, /msgs\/s/);
      assert.match(r.stdout, /MB\/s/);
    } finally {
      await c.close();
    }
  });

  it('exits non-zero with a clear message on ECONNREFUSED', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const r = await cli(['--target', `127.0.0.1:${port}`, '--messages', '10']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot connect to tcp 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('rejects bad arguments', async () => {
    const r1 = await cli(['--transport', 'carrier-pigeon']);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /carrier-pigeon/);
    const r2 = await cli(['--target', 'nonsense']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /HOST:PORT/);
  });

  it('--idle prints ready, holds, exits 0 on SIGTERM', async () => {
    const c = await tcpCollector();
    try {
      const r = await cli(['--target', `127.0.0.1:${c.port}`, '--idle', '--connections', '50'], 'SIGTERM');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ready\n/);
      assert.equal(c.connections, 50);
      assert.equal(c.frames.length, 0);
    } finally {
      await c.close();
    }
  });
});
