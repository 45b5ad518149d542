/**
 * End-to-end: syslog over TLS (RFC 5425) into `ringlog serve --tls`.
 *
 * Certificates are made with the openssl CLI in a temp dir: a self-signed server
 * certificate (CN=localhost), and for mutual TLS a CA, a client certificate it
 * signs, and a self-signed client certificate it does not.
 *
 *  - Node's tls.connect, verifying the server, sends LF and octet-counted frames
 *    cut at awkward places (inside the count, inside a UTF-8 character) across writes.
 *  - `openssl s_client` (a client that is not Node) pipes lines in.
 *  - A plain TCP client speaking garbage to the TLS port is refused and counted
 *    (reason tls_handshake), and the listener keeps serving.
 *  - With --tls-ca: no client certificate, or one from another CA, is refused;
 *    one signed by the CA is accepted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { startServer, type RinglogServer } from '../../bench/lib/server.js';
import {
  type NdjsonRecord, fileSize, isExecutable, makeTempDir, metricReaches, outputReaches, readNdjson, removeDir, run,
  runOk, sleep, uniqueId, waitFor,
} from './helpers.js';

const OPENSSL = '/usr/bin/openssl';
const skip = isExecutable(OPENSSL) ? false : `${OPENSSL} not found (Debian package openssl): needed to make test certificates`;

const openssl = (dir: string, args: string[]) => runOk(OPENSSL, args, { cwd: dir, timeoutMs: 60_000 });

/** A self-signed certificate and key: NAME.pem, NAME.key. */
async function selfSigned(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-days', '1', '-keyout', `${name}.key`, '-out', `${name}.pem`]);
}

/** A certificate for CN signed by the CA `ca` (ca.pem, ca.key): NAME.pem, NAME.key. */
async function signedBy(dir: string, ca: string, name: string, cn: string): Promise<void> {
  await openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-out', `${name}.pem`]);
}

interface ClientOpts {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Connects and completes the handshake (verifying the server as "localhost"). */
function connectTls(port: number, opts: ClientOpts): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: true, ...opts }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.setTimeout(15_000, () => s.destroy(new Error('TLS client: no progress in 15 s')));
    s.once('error', reject);
  });
}

function write(s: net.Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => s.write(data, (err) => (err ? reject(err) : resolve())));
}

/** Half-closes and waits until the server has closed its side too. */
function endAndWaitClose(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    s.once('close', () => resolve());
    s.on('error', () => {});
    s.resume();
    s.end();
  });
}

/** Resolves with how a connection ended: 'close' (maybe after an error) with the error message if any. */
function closed(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let why = 'closed by the server';
    s.on('error', (err) => (why = `error: ${err.message}`));
    s.once('close', () => resolve(why));
    s.resume();
  });
}

const octet = (msg: string) => `${Buffer.byteLength(msg)} ${msg}`;

describe('TLS listener', { skip }, () => {
  let dir = '';
  let out = '';
  let srv: RinglogServer;
  let ca: Buffer;
  const runId = uniqueId();

  before(async () => {
    dir = makeTempDir('tls');
    await selfSigned(dir, 'server', 'localhost');
    ca = readFileSync(path.join(dir, 'server.pem'));
    out = path.join(dir, 'records.ndjson');
    srv = await startServer({
      tcp: false,
      output: [`ndjson:${out}`],
      dataDir: path.join(dir, 'data'),
      // --format raw: these tests are about the transport, so a record's message is the whole frame.
      args: ['--format', 'raw', '--tls', '127.0.0.1:0', '--tls-cert', path.join(dir, 'server.pem'), '--tls-key', path.join(dir, 'server.key')],
      expectListeners: ['tls'],
    });
  });

  after(async () => {
    await srv?.stop();
    removeDir(dir);
  });

  let frames = 0;
  /** Waits until `more` more frames were received and written; returns the records written since byte `from`. */
  async function delivered(more: number, from: number): Promise<NdjsonRecord[]> {
    frames += more;
    assert.equal(await metricReaches(srv, 'ringlog_received_frames_total', { listener: 'tls' }, frames), frames);
    assert.equal(await outputReaches(srv, out, frames), frames);
    return readNdjson(out, from);
  }

  it('Node tls client: LF and octet-counted frames split across writes arrive whole, once each', async () => {
    const m = `tls-${runId}`;
    const msgs = [
      `<134>1 2026-11-22T10:00:00Z host app - - - ${m} lf one`,
      `<134>1 2026-11-22T10:00:00Z host app - - - ${m} octet two with\nan embedded LF`,
      `<134>1 2026-11-22T10:00:00Z host app - - - ${m} lf three ünïcødé ✓`,
      `<134>1 2026-11-22T10:00:00Z host app - - - ${m} octet four 日本語`,
      `<134>1 2026-11-22T10:00:00Z host app - - - ${m} lf five`,
    ];
    const wire = Buffer.from(msgs[0] + '\n' + octet(msgs[1]!) + msgs[2] + '\n' + octet(msgs[3]!) + msgs[4] + '\n');
    // Cut points: inside frame 1, right after "1" of the count of frame 2, inside the 'ü'
    // of frame 3, inside the count digits of frame 4, inside the '日' of frame 4.
    const cuts = new Set<number>([20]);
    const off2 = Buffer.byteLength(msgs[0] + '\n');
    cuts.add(off2 + 1);
    const off3 = off2 + Buffer.byteLength(octet(msgs[1]!));
    cuts.add(off3 + Buffer.from(msgs[2]!).indexOf(Buffer.from('ü')) + 1);
    const off4 = off3 + Buffer.byteLength(msgs[2] + '\n');
    cuts.add(off4 + 1);
    cuts.add(off4 + Buffer.from(octet(msgs[3]!)).indexOf(Buffer.from('日')) + 2);
    const points = [0, ...[...cuts].sort((a, b) => a - b), wire.length];

    const from = fileSize(out);
    const s = await connectTls(srv.address('tls').port, { ca });
    s.setNoDelay(true);
    assert.equal(s.authorized, true);
    const peer = `127.0.0.1:${s.localPort}`;
    for (let i = 1; i < points.length; i++) {
      await write(s, wire.subarray(points[i - 1], points[i]));
      await sleep(30);
    }
    const records = await delivered(msgs.length, from);
    await endAndWaitClose(s);
    assert.deepEqual(records.map((r) => r.message), msgs);
    for (const r of records) assert.deepEqual(r.source, { transport: 'tls', listener: 'tls', peer });
    assert.equal(await srv.metric('ringlog_framing_errors_total', { listener: 'tls' }), 0);
  });

  it('openssl s_client -quiet: piped lines arrive as records', async () => {
    const m = `s_client-${runId}`;
    const lines = [1, 2, 3].map((i) => `<13>1 - host s_client - - - ${m} line ${i}`);
    const from = fileSize(out);
    const r = await run(OPENSSL, [
      's_client', '-connect', `127.0.0.1:${srv.address('tls').port}`, '-quiet', '-no_ign_eof',
      '-servername', 'localhost', '-CAfile', path.join(dir, 'server.pem'), '-verify_return_error',
    ], { input: lines.join('\n') + '\n', timeoutMs: 20_000 });
    assert.equal(r.code, 0, `openssl s_client failed:\n${r.stderr}`);
    const records = await delivered(lines.length, from);
    assert.deepEqual(records.map((x) => x.message), lines);
    assert.equal(records[0]!.source.transport, 'tls');
    assert.match(records[0]!.source.peer, /^127\.0\.0\.1:\d+$/);
  });

  it('a last frame without its LF is stored when the client closes (close_notify + FIN)', async () => {
    const from = fileSize(out);
    const s = await connectTls(srv.address('tls').port, { ca });
    const texts = [`<13>1 - host tail - - - ${runId} complete`, `<13>1 - host tail - - - ${runId} unterminated`];
    s.end(`${texts[0]}\n${texts[1]}`);
    await new Promise<void>((resolve) => s.once('close', () => resolve()).resume());
    const records = await delivered(2, from);
    assert.deepEqual(records.map((r) => r.message), texts);
    assert.equal(records[1]!.truncated, undefined);
  });

  it('a plain-TCP client speaking garbage is refused (tls_handshake) and the listener keeps working', async () => {
    const refused = { listener: 'tls', reason: 'tls_handshake' };
    const before = await srv.metric('ringlog_connections_refused_total', refused);
    const accepted = await srv.metric('ringlog_connections_accepted_total', { listener: 'tls' });
    const from = fileSize(out);

    const plain = net.connect({ host: '127.0.0.1', port: srv.address('tls').port });
    plain.setTimeout(15_000, () => plain.destroy(new Error('server did not close the garbage connection in 15 s')));
    const ended = closed(plain);
    await new Promise<void>((resolve, reject) => plain.once('connect', resolve).once('error', reject));
    plain.write(`<13>1 - host plain - - - plaintext-${runId} is not TLS\n`);
    const why = await ended;
    assert.doesNotMatch(why, /did not close/);
    assert.equal(await metricReaches(srv, 'ringlog_connections_refused_total', refused, before + 1), before + 1);
    assert.equal(await srv.metric('ringlog_connections_accepted_total', { listener: 'tls' }), accepted, 'not counted as accepted');

    // Still serving TLS.
    const s = await connectTls(srv.address('tls').port, { ca });
    await write(s, `<13>1 - host after - - - after-garbage-${runId}\n`);
    const records = await delivered(1, from);
    await endAndWaitClose(s);
    assert.deepEqual(records.map((r) => r.message), [`<13>1 - host after - - - after-garbage-${runId}`]);
    assert.equal(countPlaintext(readNdjson(out)), 0, 'the garbage was not stored');
    assert.equal(await srv.metric('ringlog_connections_accepted_total', { listener: 'tls' }), accepted + 1);
  });

  function countPlaintext(records: NdjsonRecord[]): number {
    return records.filter((r) => r.message.includes(`plaintext-${runId}`)).length;
  }
});

describe('TLS listener with --tls-ca (mutual TLS)', { skip }, () => {
  let dir = '';
  let out = '';
  let srv: RinglogServer;
  let serverCa: Buffer;
  const file = (name: string) => readFileSync(path.join(dir, name));
  const refused = { listener: 'tls', reason: 'tls_handshake' };

  before(async () => {
    dir = makeTempDir('mtls');
    await selfSigned(dir, 'server', 'localhost');
    await selfSigned(dir, 'ca', 'ringlog e2e client CA');
    await signedBy(dir, 'ca', 'client', 'good-client');
    await selfSigned(dir, 'rogue', 'rogue-client');
    serverCa = file('server.pem');
    out = path.join(dir, 'records.ndjson');
    srv = await startServer({
      tcp: false,
      output: [`ndjson:${out}`],
      dataDir: path.join(dir, 'data'),
      // --format raw: these tests are about the transport, so a record's message is the whole frame.
      args: ['--format', 'raw', '--tls', '127.0.0.1:0', '--tls-cert', path.join(dir, 'server.pem'), '--tls-key', path.join(dir, 'server.key'), '--tls-ca', path.join(dir, 'ca.pem')],
      expectListeners: ['tls'],
    });
  });

  after(async () => {
    await srv?.stop();
    removeDir(dir);
  });

  /**
   * Connects, sends a frame, and waits until the server ends the connection. With TLS 1.3
   * the client's side of the handshake may complete before the server has checked the
   * client certificate, so the refusal shows either as a handshake error or as an alert
   * or close afterwards; what counts is the server's side (metrics, nothing stored).
   */
  async function attempt(opts: ClientOpts, text: string): Promise<string> {
    let s: tls.TLSSocket;
    try {
      s = await connectTls(srv.address('tls').port, opts);
    } catch (err) {
      return `handshake failed: ${(err as Error).message}`;
    }
    const ended = closed(s);
    s.write(text + '\n', () => {});
    return ended;
  }

  it('a client without a certificate is refused and its data is not stored', async () => {
    const before = await srv.metric('ringlog_connections_refused_total', refused);
    await attempt({ ca: serverCa }, 'no-cert-client');
    assert.equal(await metricReaches(srv, 'ringlog_connections_refused_total', refused, before + 1), before + 1);
    assert.equal(await srv.metric('ringlog_connections_accepted_total', { listener: 'tls' }), 0);
  });

  it('a client whose certificate another CA signed is refused', async () => {
    const before = await srv.metric('ringlog_connections_refused_total', refused);
    await attempt({ ca: serverCa, cert: file('rogue.pem'), key: file('rogue.key') }, 'rogue-client');
    assert.equal(await metricReaches(srv, 'ringlog_connections_refused_total', refused, before + 1), before + 1);
    assert.equal(await srv.metric('ringlog_connections_accepted_total', { listener: 'tls' }), 0);
  });

  it('a client with a certificate signed by the CA is accepted; only its frame is stored', async () => {
    const s = await connectTls(srv.address('tls').port, { ca: serverCa, cert: file('client.pem'), key: file('client.key') });
    const text = '<13>1 - host good - - - good-client hello';
    const peer = `127.0.0.1:${s.localPort}`;
    await write(s, text + '\n');
    assert.equal(await metricReaches(srv, 'ringlog_received_frames_total', { listener: 'tls' }, 1), 1);
    assert.equal(await outputReaches(srv, out, 1), 1);
    await endAndWaitClose(s);
    const records = readNdjson(out);
    assert.deepEqual(records.map((r) => r.message), [text]);
    assert.deepEqual(records[0]!.source, { transport: 'tls', listener: 'tls', peer });
    assert.equal(await srv.metric('ringlog_connections_accepted_total', { listener: 'tls' }), 1, 'only the good client was accepted');
    assert.equal(await srv.metric('ringlog_connections_refused_total', refused), 2, 'the two bad clients');
    // Nothing else arrives later either (the refused clients' frames were never decrypted).
    await waitFor('server to close the good connection', async () => (await srv.metric('ringlog_connections_open', { listener: 'tls' })) === 0);
    assert.equal(readNdjson(out).length, 1);
  });
});
