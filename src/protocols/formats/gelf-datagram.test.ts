import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  GelfDatagramDecoder, isGelfBinary, type GelfDatagramOptions, type GelfDropKind, type GelfEventDetail,
} from './gelf-datagram.js';

const PEER = '192.0.2.1:5000';

interface Ev { kind: GelfDropKind; peer: string; detail: GelfEventDetail | undefined }

/** A decoder with a fake clock (ms) and its event log. No interval: tests sweep by hand. */
function setup(opts: GelfDatagramOptions = {}) {
  const clock = { t: 1_000 };
  const events: Ev[] = [];
  const dec = new GelfDatagramDecoder({
    autoSweep: false,
    now: () => clock.t,
    onEvent: (kind, peer, detail) => events.push({ kind, peer, detail }),
    ...opts,
  });
  return { dec, clock, events, kinds: () => events.map((e) => e.kind) };
}

function gelfJson(msg = 'hello', extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ version: '1.1', host: 'h1', short_message: msg, ...extra }));
}

/** Splits `payload` into GELF chunks of `size` data bytes. */
function chunks(payload: Buffer, size: number, id: Buffer = randomBytes(8)): Buffer[] {
  const n = Math.max(1, Math.ceil(payload.length / size));
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(chunk(id, i, n, payload.subarray(i * size, (i + 1) * size)));
  return out;
}

function chunk(id: Buffer, seq: number, count: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x1e, 0x0f]), id, Buffer.from([seq, count]), data]);
}

/** Decodes every datagram; returns the payloads produced. */
function feed(dec: GelfDatagramDecoder, dgrams: Buffer[], peer = PEER): Buffer[] {
  const out: Buffer[] = [];
  for (const d of dgrams) {
    const p = dec.decode(d, 0, d.length, peer);
    if (p !== null) out.push(Buffer.from(p));
  }
  return out;
}

describe('GELF datagram: single datagrams', () => {
  it('plain JSON is returned as the same bytes, zero copy', () => {
    const { dec, events } = setup();
    const json = gelfJson();
    const dgram = Buffer.concat([Buffer.from('xxxx'), json, Buffer.from('yy')]);
    const p = dec.decode(dgram, 4, 4 + json.length, PEER)!;
    assert.deepEqual(p, json);
    assert.equal(p.buffer, dgram.buffer);
    assert.equal(p.byteOffset, dgram.byteOffset + 4);
    // decodeTo: the very buffer and offsets.
    const seen: [Buffer, number, number, number][] = [];
    assert.equal(dec.decodeTo(dgram, 4, 4 + json.length, PEER, (b, s, e, f) => seen.push([b, s, e, f])), true);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]![0], dgram);
    assert.deepEqual(seen[0]!.slice(1), [4, 4 + json.length, 0]);
    assert.deepEqual(events, []);
  });

  it('non-JSON text is handed on untouched (the parser judges it)', () => {
    const { dec } = setup();
    const d = Buffer.from('<13>not gelf at all');
    assert.deepEqual(dec.decode(d, 0, d.length, PEER), d);
  });

  it('zlib at every level (78 01, 78 5e, 78 9c, 78 da) and gzip', () => {
    const { dec, events } = setup();
    const json = gelfJson('compressed '.repeat(50));
    for (const level of [1, 2, 6, 9]) {
      const z = zlib.deflateSync(json, { level });
      assert.equal(isGelfBinary(z, 0, z.length), true);
      assert.deepEqual(dec.decode(z, 0, z.length, PEER), json);
    }
    const g = zlib.gzipSync(json);
    assert.equal(isGelfBinary(g, 0, g.length), true);
    assert.deepEqual(dec.decode(g, 0, g.length, PEER), json);
    // decodeTo hands on the fresh buffer whole.
    const seen: [Buffer, number, number][] = [];
    dec.decodeTo(g, 0, g.length, PEER, (b, s, e) => seen.push([b, s, e]));
    assert.deepEqual(seen[0]![0].subarray(seen[0]![1], seen[0]![2]), json);
    assert.deepEqual(events, []);
  });

  it('compressed data inside a larger buffer (start/end honoured)', () => {
    const { dec } = setup();
    const json = gelfJson('inner');
    const z = zlib.deflateSync(json);
    const big = Buffer.concat([Buffer.from('garbage'), z, Buffer.from('tail')]);
    assert.deepEqual(dec.decode(big, 7, 7 + z.length, PEER), json);
  });

  it('corrupt zlib and gzip are dropped as decompress_failed', () => {
    const { dec, kinds, events } = setup();
    const z = zlib.deflateSync(gelfJson());
    const cut = z.subarray(0, z.length - 6);
    assert.equal(dec.decode(cut, 0, cut.length, PEER), null);
    const bad = Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]);
    assert.equal(dec.decode(bad, 0, bad.length, PEER), null);
    const g = Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2]);
    assert.equal(dec.decode(g, 0, g.length, PEER), null);
    assert.deepEqual(kinds(), ['decompress_failed', 'decompress_failed', 'decompress_failed']);
    assert.equal(events[0]!.peer, PEER);
    assert.equal(typeof events[0]!.detail?.error, 'string');
  });

  it('a zip bomb (100 MB of zeros) is refused without allocating it', () => {
    const { dec, kinds } = setup();
    const z = zlib.deflateSync(Buffer.alloc(100 * 1024 * 1024, 0), { level: 9 });
    const g = zlib.gzipSync(Buffer.alloc(100 * 1024 * 1024, 0), { level: 9 });
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    assert.equal(dec.decode(z, 0, z.length, PEER), null);
    assert.equal(dec.decode(g, 0, g.length, PEER), null);
    const grew = process.memoryUsage().arrayBuffers - before;
    assert.ok(grew < 16 * 1024 * 1024, `external memory grew by ${grew} bytes`);
    assert.ok(performance.now() - t0 < 2_000);
    assert.deepEqual(kinds(), ['too_large', 'too_large']);
  });

  it('maxMessageBytes caps decompressed output exactly', () => {
    const { dec, kinds } = setup({ maxMessageBytes: 1000 });
    const ok = Buffer.alloc(1000, 0x61);
    const z1 = zlib.deflateSync(ok);
    assert.deepEqual(dec.decode(z1, 0, z1.length, PEER), ok);
    const z2 = zlib.deflateSync(Buffer.alloc(1001, 0x61));
    assert.equal(dec.decode(z2, 0, z2.length, PEER), null);
    assert.deepEqual(kinds(), ['too_large']);
  });
});

describe('GELF datagram: isGelfBinary', () => {
  it('recognises chunk magic, zlib and gzip; not text', () => {
    const t = (bytes: number[] | string) => {
      const b = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes);
      return isGelfBinary(b, 0, b.length);
    };
    assert.equal(t([0x1e, 0x0f, 1, 2]), true);
    assert.equal(t([0x1f, 0x8b]), true);
    for (const f of [0x01, 0x5e, 0x9c, 0xda]) assert.equal(t([0x78, f]), true);
    // Checksum-valid but FDICT set: "x " "x?" "x^"… are text, not zlib.
    for (const s of ['x = 1', 'x?', 'x}', '{"short_message":"x"}', '<13>hi', 'xx', '']) assert.equal(t(s), false, s);
    assert.equal(t([0x78]), false);
    assert.equal(t([0x1e]), false);
    const b = Buffer.from([0x41, 0x1e, 0x0f, 0x42]);
    assert.equal(isGelfBinary(b, 1, 3), true);
    assert.equal(isGelfBinary(b, 0, 2), false);
  });
});

describe('GELF datagram: chunking', () => {
  it('chunks in order reassemble; nothing is emitted before the last', () => {
    const { dec, events } = setup();
    const json = gelfJson('x'.repeat(5000));
    const cs = chunks(json, 1000);
    assert.equal(cs.length, 6);
    for (const c of cs.slice(0, -1)) assert.equal(dec.decode(c, 0, c.length, PEER), null);
    assert.equal(dec.pendingMessages, 1);
    assert.equal(dec.pendingBytes, 5000);
    assert.deepEqual(dec.decode(cs[5]!, 0, cs[5]!.length, PEER), json);
    assert.equal(dec.pendingMessages, 0);
    assert.equal(dec.pendingBytes, 0);
    assert.deepEqual(events, []);
  });

  it('chunks out of order reassemble', () => {
    const { dec } = setup();
    const json = gelfJson('y'.repeat(3000));
    const cs = chunks(json, 500);
    const order = [3, 0, 6, 1, 5, 2, 4];
    assert.equal(cs.length, order.length);
    assert.deepEqual(feed(dec, order.map((i) => cs[i]!)), [json]);
  });

  it('a single chunk (count 1) is a whole message', () => {
    const { dec } = setup();
    const json = gelfJson();
    assert.deepEqual(feed(dec, chunks(json, 10_000)), [json]);
    assert.equal(dec.pendingMessages, 0);
  });

  it('chunked + compressed (zlib and gzip), interleaved messages and peers', () => {
    const { dec, events } = setup();
    const a = gelfJson('a'.repeat(20_000) + randomBytes(3000).toString('hex'));
    const b = gelfJson('b'.repeat(9_000) + randomBytes(2000).toString('hex'));
    const ca = chunks(zlib.deflateSync(a), 500);
    const cb = chunks(zlib.gzipSync(b), 300);
    assert.ok(ca.length > 3 && cb.length > 3);
    const out: Buffer[] = [];
    const ordered: [Buffer, string][] = [];
    for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
      if (i < cb.length) ordered.push([cb[cb.length - 1 - i]!, 'p2']);
      if (i < ca.length) ordered.push([ca[i]!, 'p1']);
    }
    for (const [d, peer] of ordered) {
      const p = dec.decode(d, 0, d.length, peer);
      if (p) out.push(p);
    }
    assert.equal(out.length, 2);
    assert.ok(out.some((p) => p.equals(a)) && out.some((p) => p.equals(b)));
    assert.deepEqual(events, []);
  });

  it('the same message id from two peers are two messages', () => {
    const { dec } = setup();
    const id = randomBytes(8);
    const m1 = gelfJson('one'.repeat(100));
    const m2 = gelfJson('two'.repeat(100));
    const c1 = chunks(m1, 100, id);
    const c2 = chunks(m2, 100, id);
    assert.equal(c1.length, c2.length);
    const out: Buffer[] = [];
    for (let i = 0; i < c1.length; i++) {
      const p1 = dec.decode(c1[i]!, 0, c1[i]!.length, 'p1');
      const p2 = dec.decode(c2[i]!, 0, c2[i]!.length, 'p2');
      if (p1) out.push(p1);
      if (p2) out.push(p2);
    }
    assert.deepEqual(out, [m1, m2]);
  });

  it('chunk data is copied: the datagram buffer may be recycled', () => {
    const { dec } = setup();
    const json = gelfJson('recycled'.repeat(100));
    const cs = chunks(json, 300);
    const slab = Buffer.alloc(2000);
    let out: Buffer | null = null;
    for (const c of cs) {
      c.copy(slab, 100);
      out = dec.decode(slab, 100, 100 + c.length, PEER) ?? out;
      slab.fill(0x5a);
    }
    assert.deepEqual(out, json);
  });

  it('duplicate chunks are ignored and counted', () => {
    const { dec, events } = setup();
    const json = gelfJson('d'.repeat(1000));
    const cs = chunks(json, 300);
    const out = feed(dec, [cs[0]!, cs[0]!, cs[1]!, cs[2]!, cs[1]!, cs[3]!]);
    assert.deepEqual(out, [json]);
    assert.deepEqual(events.map((e) => [e.kind, e.detail?.seq]), [['duplicate_chunk', 0], ['duplicate_chunk', 1]]);
    assert.match(events[0]!.detail!.messageId!, /^[0-9a-f]{16}$/);
  });

  it('bad counts and sequence numbers are dropped as bad_chunk', () => {
    const { dec, events, kinds } = setup();
    const id = randomBytes(8);
    const data = Buffer.from('data');
    const bad = [
      chunk(id, 0, 0, data),   // count 0
      chunk(id, 0, 129, data), // count > 128
      chunk(id, 255, 255, data),
      chunk(id, 3, 3, data),   // seq ≥ count
      chunk(id, 5, 2, data),
      Buffer.from([0x1e, 0x0f, 1, 2, 3]), // shorter than the header
    ];
    assert.deepEqual(feed(dec, bad), []);
    assert.deepEqual(kinds(), Array(bad.length).fill('bad_chunk'));
    assert.equal(dec.pendingMessages, 0);
    // A count differing from earlier chunks of the same id: that chunk is dropped, the message goes on.
    events.length = 0;
    const json = gelfJson('c'.repeat(300));
    const cs = chunks(json, 100, id); // 4 chunks
    assert.equal(cs.length, 4);
    const out = feed(dec, [cs[0]!, chunk(id, 1, 7, data), cs[1]!, cs[2]!, cs[3]!]);
    assert.deepEqual(out, [json]);
    assert.deepEqual(kinds(), ['bad_chunk']);
    assert.match(events[0]!.detail!.error!, /differs/);
    // Count 128 with seq 127 is fine.
    const ok = chunk(randomBytes(8), 127, 128, data);
    assert.deepEqual(feed(dec, [ok]), []);
    assert.equal(dec.pendingMessages, 1);
  });

  it('a missing chunk: the message expires in sweep(now) after timeoutMs', () => {
    const { dec, clock, events } = setup({ timeoutMs: 5_000 });
    const json = gelfJson('m'.repeat(1000));
    const cs = chunks(json, 300);
    feed(dec, [cs[0]!, cs[1]!, cs[3]!]);
    assert.equal(dec.pendingMessages, 1);
    clock.t += 4_999;
    assert.equal(dec.sweep(), 0);
    assert.equal(dec.sweep(clock.t + 1), 1);
    assert.equal(dec.pendingMessages, 0);
    assert.equal(dec.pendingBytes, 0);
    assert.deepEqual(events.map((e) => e.kind), ['expired']);
    assert.equal(events[0]!.peer, PEER);
    assert.deepEqual([events[0]!.detail!.received, events[0]!.detail!.count], [3, 4]);
    // The late chunk starts a new message that never completes.
    assert.deepEqual(feed(dec, [cs[2]!]), []);
    assert.equal(dec.pendingMessages, 1);
  });

  it('a chunk arriving after the deadline expires the old message itself (no sweep needed)', () => {
    const { dec, clock, kinds } = setup({ timeoutMs: 1_000 });
    const json = gelfJson('late'.repeat(100));
    const cs = chunks(json, 150);
    feed(dec, [cs[0]!]);
    clock.t += 1_500;
    assert.deepEqual(feed(dec, cs.slice(1)), []);
    assert.deepEqual(kinds(), ['expired']);
    // A resend of the whole message within the deadline goes through.
    assert.deepEqual(feed(dec, cs), [json]);
  });

  it('sweep expires only the old messages, oldest first', () => {
    const { dec, clock, events } = setup({ timeoutMs: 100 });
    const ids = [randomBytes(8), randomBytes(8), randomBytes(8)];
    for (const id of ids) {
      feed(dec, [chunk(id, 0, 2, Buffer.from('x'))]);
      clock.t += 40;
    }
    // Ages now: 120, 80, 40.
    assert.equal(dec.sweep(), 1);
    clock.t += 30; // 150, 110, 70
    assert.equal(dec.sweep(), 1);
    assert.equal(dec.pendingMessages, 1);
    assert.deepEqual(events.map((e) => e.detail!.messageId), ids.slice(0, 2).map((i) => i.toString('hex')));
  });

  it('the automatic sweep (real timers) expires a message and stops when nothing is pending', async () => {
    const events: GelfDropKind[] = [];
    const dec = new GelfDatagramDecoder({ timeoutMs: 30, onEvent: (k) => events.push(k) });
    const cs = chunks(gelfJson('z'.repeat(500)), 100);
    feed(dec, [cs[0]!]);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(events, ['expired']);
    assert.equal(dec.pendingMessages, 0);
    assert.equal((dec as unknown as { timer: unknown }).timer, null);
    feed(dec, [cs[1]!]);
    assert.notEqual((dec as unknown as { timer: unknown }).timer, null);
    dec.close();
    assert.equal((dec as unknown as { timer: unknown }).timer, null);
    assert.equal(dec.pendingMessages, 0);
  });

  it('too many pending messages: the oldest incomplete one is evicted', () => {
    const { dec, events } = setup({ maxPendingMessages: 3 });
    const msgs = [0, 1, 2, 3, 4].map((i) => ({ id: randomBytes(8), json: gelfJson(`msg ${i} `.repeat(50)) }));
    const parts = msgs.map((m) => chunks(m.json, 100, m.id));
    for (const p of parts) feed(dec, [p[0]!]);
    assert.equal(dec.pendingMessages, 3);
    assert.deepEqual(events.map((e) => [e.kind, e.detail!.messageId]), [
      ['evicted', msgs[0]!.id.toString('hex')],
      ['evicted', msgs[1]!.id.toString('hex')],
    ]);
    // The survivors complete; the evicted ones' remaining chunks start new entries (not completed).
    assert.deepEqual(feed(dec, parts[4]!.slice(1)), [msgs[4]!.json]);
  });

  it('too many pending bytes: the oldest incomplete messages are evicted', () => {
    const { dec, events } = setup({ maxPendingBytes: 1000 });
    const a = chunks(Buffer.alloc(1200, 0x61), 400); // 3 chunks
    const b = chunks(Buffer.alloc(1200, 0x62), 400);
    feed(dec, [a[0]!, a[1]!]); // 800 held
    feed(dec, [b[0]!]);        // 1200 > 1000: a goes
    assert.deepEqual(events.map((e) => e.kind), ['evicted']);
    assert.equal(events[0]!.detail!.bytes, 800);
    assert.equal(dec.pendingBytes, 400);
    assert.equal(dec.pendingMessages, 1);
  });

  it('a chunked message larger than maxMessageBytes is dropped once, its late chunks silently', () => {
    const { dec, clock, kinds } = setup({ maxMessageBytes: 1000, timeoutMs: 1_000 });
    const cs = chunks(Buffer.alloc(3000, 0x63), 400); // 8 chunks
    assert.deepEqual(feed(dec, cs), []);
    assert.deepEqual(kinds(), ['too_large']);
    assert.equal(dec.pendingBytes, 0);
    clock.t += 2_000;
    dec.sweep();
    assert.deepEqual(kinds(), ['too_large']);
    assert.equal(dec.pendingMessages, 0);
    // A single oversize chunk too.
    const one = chunk(randomBytes(8), 0, 1, Buffer.alloc(1001));
    assert.deepEqual(feed(dec, [one]), []);
    assert.deepEqual(kinds(), ['too_large', 'too_large']);
  });

  it('reassembled zip bomb: the cap applies after reassembly too', () => {
    const { dec, kinds } = setup({ maxMessageBytes: 64 * 1024 });
    const z = zlib.deflateSync(Buffer.alloc(10 * 1024 * 1024));
    const cs = chunks(z, 2000);
    assert.deepEqual(feed(dec, cs), []);
    assert.deepEqual(kinds(), ['too_large']);
  });

  it('rejects invalid options', () => {
    assert.throws(() => new GelfDatagramDecoder({ maxMessageBytes: 0 }), RangeError);
    assert.throws(() => new GelfDatagramDecoder({ timeoutMs: 1.5 }), RangeError);
    assert.throws(() => new GelfDatagramDecoder({ maxPendingMessages: -1 }), RangeError);
  });
});

describe('GELF datagram: hostile input', () => {
  const header = fc.constantFrom([0x1e, 0x0f], [0x78, 0x9c], [0x78, 0x01], [0x1f, 0x8b], [0x7b], []);
  const tail = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 2, 127, 128, 129)), { maxLength: 200 });

  it('random bytes never throw; bounds hold', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(header, fc.nat(3), fc.nat(3), tail, fc.nat(3)), { maxLength: 60 }),
        fc.nat(5000),
        (dgrams, step) => {
          const { dec, clock } = setup({ maxPendingMessages: 5, maxPendingBytes: 500, maxMessageBytes: 300, timeoutMs: 2_000 });
          for (const [h, idSel, peerSel, rest, pad] of dgrams) {
            // Chunk ids from a small set so reassembly paths (dups, mismatched counts) are hit.
            const body = h[0] === 0x1e ? [...h, ...Array(7).fill(0), idSel, ...rest] : [...h, ...rest];
            const d = Buffer.concat([Buffer.alloc(pad, 0xee), Buffer.from(body), Buffer.alloc(pad, 0xee)]);
            const p = dec.decode(d, pad, d.length - pad, `peer${peerSel}`);
            if (p !== null) assert.ok(p.length <= Math.max(300, d.length));
            assert.ok(dec.pendingMessages <= 5);
            assert.ok(dec.pendingBytes <= 500);
            clock.t += step % 700;
            if (step % 3 === 0) dec.sweep();
          }
          dec.close();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random reassembly orders with duplicates always yield the message once', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 40 }),
        (bytes, size, compress, perm) => {
          const payload = compress ? zlib.deflateSync(bytes) : Buffer.concat([Buffer.from('{'), bytes]);
          const want = compress ? Buffer.from(bytes) : payload;
          const cs = chunks(payload, size);
          fc.pre(cs.length <= 128);
          const order = cs.map((_, i) => i);
          perm.forEach((r, k) => {
            const i = k % order.length;
            const j = r % order.length;
            [order[i], order[j]] = [order[j]!, order[i]!];
          });
          const { dec } = setup();
          const seq = order.map((i) => cs[i]!);
          // Duplicates of chunks already sent, always before the last (completing) chunk.
          if (seq.length > 1) {
            for (const r of perm.slice(0, 3)) {
              const k = r % (seq.length - 1);
              seq.splice(k + 1, 0, seq[k]!);
            }
          }
          const out = feed(dec, seq);
          assert.equal(out.length, 1);
          assert.deepEqual(out[0], want);
        },
      ),
      { numRuns: 200 },
    );
  });
});
