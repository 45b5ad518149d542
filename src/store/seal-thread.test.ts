/**
 * The seal thread (seal-thread.ts): a block sealed there is the block the builder seals
 * itself, byte for byte, bloom filter included; a failure there is an error here.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Compressor } from 'zstd-napi';
import { BlockBuilder } from './block-builder.js';
import { filterBytes } from './block-filter.js';
import { ByteWriter } from './byte-buffer.js';
import { Parsers } from './parsers.js';
import { SealThread } from './seal-thread.js';
import { parse, throughEntry } from './test-helpers.js';

const thread = new SealThread(5);
after(() => thread.close());

test('a block sealed in the seal thread is the block the builder seals itself', async () => {
  const lines = Array.from({ length: 5000 }, (_, i) => i % 3 === 0
    ? `<${i % 192}>1 2026-11-22T09:00:0${i % 10}Z h${i % 3} a${i % 4} - - [s@1 i="${i}" j="x\\"y"] ${'m'.repeat(i % 90)} ${i}`
    : i % 3 === 1 ? `{"msg":"m\\t${i}","n":${i},"o":{"k":"${'v'.repeat(i % 70)}"},"host":"j${i % 7}"}` : `plain ${i} ünïcode`);
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: 5 });
  const here = new BlockBuilder();
  const there = new BlockBuilder();
  for (let round = 0; round < 2; round++) {
    const entries = [[parse('auto', lines.slice(0, 2000))], [parse('auto', lines.slice(2000, 2010)), parse('auto', lines.slice(2010))]];
    let lsn = 1;
    for (const batches of entries) {
      const parsers = new Parsers();
      throughEntry(batches, lsn, parsers, [here], (b) => {
        for (let i = 0; i < b.count; i++) here.append(b, i, lsn);
      });
      throughEntry(batches, lsn, new Parsers(), [there], (b) => {
        for (let i = 0; i < b.count; i++) there.append(b, i, lsn);
      });
      lsn++;
    }
    const want = here.seal(compressor, 7 + round, new ByteWriter(1024));
    const { contents, transfer } = there.detach();
    assert.equal(there.n, 0, 'detach() empties the builder');
    const got = await thread.seal(contents, transfer, 7 + round);
    assert.deepEqual(got.header, want.header);
    assert.ok(got.bytes.equals(want.bytes), `round ${round}: block bytes`);
    assert.ok(Buffer.from(filterBytes(got.filter)).equals(Buffer.from(filterBytes(want.filter))), `round ${round}: token filter`);
    assert.equal(contents.tsMs.byteLength, 0, 'the contents were transferred, not copied');
  }
});

test('contents the thread cannot encode are an error for the caller, and the thread goes on', async () => {
  const b = new BlockBuilder();
  b.append(parse('json', ['{"msg":"x"}']), 0, 1);
  const { contents, transfer } = b.detach();
  await assert.rejects(thread.seal({ ...contents, msgLen: Uint32Array.of(1 << 30) }, transfer, 1), /seal thread/);
  const ok = new BlockBuilder();
  ok.append(parse('json', ['{"msg":"y"}']), 0, 1);
  const d = ok.detach();
  const block = await thread.seal(d.contents, d.transfer, 1);
  assert.equal(block.header.count, 1);
});
