/**
 * The parse thread (parse-thread.ts): entries parsed there build the same blocks, byte
 * for byte, as entries parsed in the store worker — every format, several listeners,
 * per-record peers, cut frames, and key dictionaries that fill up and start over.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Compressor } from 'zstd-napi';
import { BlockBuilder } from './block-builder.js';
import { filterBytes } from './block-filter.js';
import { ByteWriter } from './byte-buffer.js';
import { Parsers, type ParseCountsByListener } from './parsers.js';
import { ParseThread } from './parse-thread.js';
import { encodeEntry } from './wal-entry.js';
import { frameBatch, parse, recordsOf, throughEntry } from './test-helpers.js';
import { FRAME_TRUNCATED } from '../protocols/framing/framer.js';
import { MAX_KEYS } from '../record/key-dictionary.js';
import type { RecordBatch } from '../record/record-batch.js';
import type { FormatName } from '../protocols/formats/format.js';

const thread = new ParseThread(50);
const counts: ParseCountsByListener = [];
thread.onCounts = (c) => counts.push(...c);
after(() => thread.close());

/** One entry in one request. */
async function parseOne(t: ParseThread, lsn: number, entry: ArrayBuffer, length: number) {
  const { entries, columns } = await t.parse([{ lsn, entry, length }]);
  return { ...entries[0]!, columns };
}

const compressor = new Compressor();
compressor.setParameters({ compressionLevel: 3 });

/** A batch as a listener hands it to the store (frames only: the WAL keeps no columns). */
function framed(format: FormatName, lines: string[], listener = 'tcp', o: { peers?: boolean; cut?: boolean } = {}): RecordBatch {
  const b = frameBatch(lines, {
    source: { listener, transport: 'tcp', peer: '127.0.0.1:1' },
    peers: o.peers ? lines.map((_, i) => `10.0.0.${i % 5}:514`) : null,
    flags: o.cut ? Uint8Array.from(lines, (_, i) => (i % 4 === 0 ? FRAME_TRUNCATED : 0)) : null,
  });
  return Object.assign(b, { format }) as RecordBatch;
}

/** An entry's bytes in a buffer of their own, longer than the entry (as the event loop's pooled buffers are). */
function entryBuffer(batches: RecordBatch[], lsn: number): { buf: ArrayBuffer; length: number } {
  const { entry } = encodeEntry(batches, lsn);
  const buf = new ArrayBuffer(entry.length + 777);
  new Uint8Array(buf).set(entry);
  return { buf, length: entry.length };
}

/**
 * Builds the entries into a block both ways and compares the blocks: `perRequest`
 * entries per parse request, every request sent before the first answer is used (as
 * the store worker keeps several in flight).
 */
async function sameBlocks(entries: RecordBatch[][], perRequest = 1): Promise<number> {
  const here = new BlockBuilder();
  const there = new BlockBuilder();
  const parsers = new Parsers();
  let records = 0;
  for (let k = 0; k < entries.length; k++) {
    throughEntry(entries[k]!, k + 1, parsers, [here], (b) => {
      for (let i = 0; i < b.count; i++) here.append(b, i, k + 1);
    });
  }
  const requests = [];
  for (let first = 0; first < entries.length; first += perRequest) {
    const request = entries.slice(first, first + perRequest).map((batches, j) => ({ lsn: first + j + 1, ...entryBuffer(batches, first + j + 1) }));
    requests.push({ request, buffers: request.map((r) => r.buf), parsed: thread.parse(request.map(({ lsn, buf, length }) => ({ lsn, entry: buf, length }))) });
  }
  for (const { request, buffers, parsed: answer } of requests) {
    const parsed = await answer;
    assert.equal(parsed.entries.length, request.length);
    for (let j = 0; j < request.length; j++) {
      const p = parsed.entries[j]!;
      assert.equal(buffers[j]!.byteLength, 0, 'the entry was transferred, not copied');
      assert.equal(p.error, null);
      assert.equal(p.entry.byteLength, request[j]!.length + 777, 'the whole buffer comes back');
      for (const b of p.batches) {
        for (let i = 0; i < b.count; i++) there.append(b, i, request[j]!.lsn);
        records += b.count;
      }
      there.flush();
      new Uint8Array(p.entry).fill(0xee); // given back for reuse: a text not copied would show
    }
    thread.giveBack(parsed.columns);
  }
  const want = here.seal(compressor, 3, new ByteWriter(1024));
  const got = there.seal(compressor, 3, new ByteWriter(1024));
  assert.deepEqual(got.header, want.header);
  assert.ok(got.bytes.equals(want.bytes), 'block bytes');
  assert.ok(Buffer.from(filterBytes(got.filter)).equals(Buffer.from(filterBytes(want.filter))), 'token filter');
  return records;
}

test('entries parsed in the parse thread build the blocks the store worker builds itself', async () => {
  const lines5424 = Array.from({ length: 3000 }, (_, i) =>
    `<${i % 192}>1 2026-11-22T09:00:0${i % 10}.${i}Z h${i % 3} a${i % 4} ${i} m${i % 2} [s@1 i="${i}" j="x\\"y"][t@2 k="${'v'.repeat(i % 9)}"] msg ${i} ${'w'.repeat(i % 60)}`);
  const json = Array.from({ length: 2000 }, (_, i) =>
    `{"time":"2026-11-22T10:0${i % 10}:00Z","level":"${['info', 'warn', 'error'][i % 3]}","msg":"m\\t${i}","n":${i},"o":{"k":"${'v'.repeat(i % 70)}","a":[1,2]},"host":"j${i % 7}"}`);
  const mixed = Array.from({ length: 1500 }, (_, i) => i % 3 === 0 ? lines5424[i]! : i % 3 === 1 ? json[i]! : `plain ${i} ünïcode level=warn k${i % 5}=v`);
  const bsd = Array.from({ length: 500 }, (_, i) => `<13>Nov 22 10:00:0${i % 10} host${i % 2} sshd[${i}]: Accepted ${i}`);
  const entries = [
    [framed('rfc5424', lines5424.slice(0, 1000)), framed('json', json.slice(0, 700), 'http')],
    [framed('auto', mixed.slice(0, 10), 'udp', { peers: true }), framed('auto', mixed.slice(10), 'udp', { cut: true })],
    [framed('json', json.slice(700), 'http'), framed('rfc3164', bsd), framed('rfc5424', lines5424.slice(1000))],
    [framed('logfmt', ['a=1 b="two words" msg=hi', 'level=error msg="x y" k=v'], 'tcp2'), framed('raw', ['just text', ''], 'tcp3')],
  ];
  const total = 3000 + 2000 + 1500 + 500 + 4;
  assert.equal(await sameBlocks(entries), total, 'an entry per request');
  assert.equal(await sameBlocks(entries, 3), total, 'several entries per request (a group commit)');
});

test('key dictionaries that fill up and start over keep every field name', async () => {
  // More distinct keys than a dictionary holds: the parse thread's stage starts a new one
  // mid-stream, and the store worker's copy of the names follows.
  const perLine = 40;
  const lines = Array.from({ length: Math.ceil((MAX_KEYS * 1.3) / perLine) }, (_, i) =>
    `{"msg":"line ${i}",${Array.from({ length: perLine }, (_, j) => `"k${i * perLine + j}":${j}`).join(',')}}`);
  const entries: RecordBatch[][] = [];
  for (let at = 0; at < lines.length; at += 400) entries.push([framed('json', lines.slice(at, at + 400), 'big')]);
  const before = thread.dictionaries;
  assert.equal(await sameBlocks(entries, 4), lines.length);
  // The stage's first dictionary, dropped when it started the second: one copy more, not two.
  assert.equal(thread.dictionaries, before + 1, 'the copy of a dictionary no longer used is dropped');
});

test('an entry that does not decode is reported; the others of its request are parsed, and the thread goes on', async () => {
  const buf = new ArrayBuffer(64);
  new Uint8Array(buf).fill(7);
  const before = entryBuffer([framed('raw', ['before', 'two'])], 8);
  const parsed = await thread.parse([{ lsn: 8, entry: before.buf, length: before.length }, { lsn: 9, entry: buf, length: 64 }]);
  const [good, bad] = parsed.entries;
  assert.equal(good!.error, null);
  assert.equal(good!.batches[0]!.count, 2);
  assert.match(bad!.error ?? '', /WAL entry kind|LSN|bytes/);
  assert.equal(bad!.batches.length, 0);
  assert.equal(bad!.entry.byteLength, 64);
  const after = entryBuffer([framed('raw', ['after'])], 10);
  const ok = await parseOne(thread, 10, after.buf, after.length);
  assert.equal(ok.error, null);
  assert.equal(ok.batches[0]!.count, 1);
});

test('parse counts reach the store worker, the last ones at close; afterwards parse() fails', async () => {
  const t = new ParseThread(60_000);
  const got: ParseCountsByListener = [];
  t.onCounts = (c) => got.push(...c);
  const { buf, length } = entryBuffer([framed('json', ['{"msg":"a"}', 'not json', '{"msg":"b"}'], 'counted')], 1);
  const parsed = await parseOne(t, 1, buf, length);
  assert.equal(parsed.batches[0]!.parseErrors, 1);
  await t.close();
  const mine = got.filter((c) => c.listener === 'counted');
  assert.equal(mine.length, 1, 'one report, at close (the timer is a minute)');
  assert.equal(mine[0]!.counts.formats.get('json'), 3);
  assert.equal([...mine[0]!.counts.errors.values()].reduce((a, b) => a + b, 0), 1);
  await assert.rejects(t.parse([{ lsn: 2, entry: new ArrayBuffer(8), length: 8 }]), /parse thread closed/);
});

test('parse results match a direct parse of the same frames', async () => {
  const lines = ['<34>1 2026-11-22T09:00:00Z host app 12 ID47 [a@1 x="1"] hello', '{"msg":"j","level":"error","k":{"n":1}}'];
  const direct = parse('auto', lines, { source: { listener: 'direct', transport: 'tcp', peer: '127.0.0.1:1' } });
  const { buf, length } = entryBuffer([framed('auto', lines, 'direct')], 1);
  const [b] = (await parseOne(thread, 1, buf, length)).batches;
  assert.deepEqual(recordsOf(b!), recordsOf(direct));
  assert.ok(recordsOf(direct)[0]!.fields['a@1.x'] === '1' && recordsOf(direct)[1]!.fields['k.n'] === '1', 'fields parsed');
});

test('the thread reports parse counts on its timer', async () => {
  const { buf, length } = entryBuffer([framed('rfc5424', ['<13>1 - - - - - - x', '<13>1 - - - - - - y'], 'timed')], 1);
  await parseOne(thread, 1, buf, length);
  for (let i = 0; i < 100 && !counts.some((c) => c.listener === 'timed'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(counts.find((c) => c.listener === 'timed')?.counts.formats.get('rfc5424'), 2);
});
