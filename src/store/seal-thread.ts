/**
 * The seal thread: encodes, compresses and indexes blocks for the store worker
 * (docs/architecture.md, "The store worker and the seal thread"). The store worker is
 * the limit of ingestion on a small machine: it parses every record and builds it into
 * a block. Sealing a block (columns, zstd, token filter) is about a third of that work
 * and needs nothing but the block's contents, so it runs here, in parallel with the
 * parsing of the next records. The store worker hands over a copy of the contents
 * (BlockBuilder.detach, buffers transferred) and writes the sealed blocks in the order
 * it handed them over; it waits for them before every commit.
 *
 * This file is both sides: SealThread (used by the store worker) and, when loaded as a
 * worker, the thread itself.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Compressor } from 'zstd-napi';
import { encodeBlock, sealTools, type BlockContents, type SealedBlock } from './block-builder.js';
import { filterBytes, filterFromBytes } from './block-filter.js';
import { ByteWriter } from './byte-buffer.js';
import type { BlockHeader } from './block-header.js';
import { lowerThreadPriority, nameThread } from '../thread-priority.js';

interface SealRequest {
  id: number;
  epoch: number;
  contents: BlockContents;
}

type SealReply =
  | { id: number; ok: true; header: BlockHeader; bytes: Uint8Array; filter: Uint8Array }
  | { id: number; ok: false; error: string };

interface SealThreadInit {
  role: 'ringlog-seal';
  compressionLevel: number;
  /** Tests only: crash (an uncaught exception) when asked for block number exitAfter + 1. */
  exitAfter: number;
}

/** The store worker's side: one thread, requests answered in order. */
export class SealThread {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (b: SealedBlock) => void; reject: (e: Error) => void }>();
  private failed: Error | null = null;

  constructor(compressionLevel: number, exitAfter = Infinity) {
    const init: SealThreadInit = { role: 'ringlog-seal', compressionLevel, exitAfter };
    this.worker = new Worker(new URL(import.meta.url), { workerData: init, name: 'ringlog-seal' });
    this.worker.on('message', (r: SealReply) => {
      const w = this.waiting.get(r.id);
      if (w === undefined) return;
      this.waiting.delete(r.id);
      if (!r.ok) {
        w.reject(new Error(`seal thread: ${r.error}`));
        return;
      }
      const bytes = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
      w.resolve({ header: r.header, bytes, filter: filterFromBytes(r.filter) });
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`seal thread exited (code ${code})`)));
  }

  /** Seals the contents (their buffers are transferred: the caller must not use them). */
  seal(contents: BlockContents, transfer: ArrayBuffer[], epoch: number): Promise<SealedBlock> {
    if (this.failed !== null) return Promise.reject(this.failed);
    const id = this.next++;
    const req: SealRequest = { id, epoch, contents };
    return new Promise<SealedBlock>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(req, transfer);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

function serve(): void {
  const init = workerData as SealThreadInit;
  nameThread('ringlog-seal');
  lowerThreadPriority(5);
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: init.compressionLevel });
  const out = new ByteWriter(1 << 20);
  const tools = sealTools();
  let requests = 0;
  parentPort!.on('message', (req: SealRequest) => {
    if (++requests > init.exitAfter) throw new Error('test fault: the seal thread crashes');
    let reply: SealReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const b = encodeBlock(req.contents, compressor, req.epoch, out, tools);
      // The block's bytes and its filter (as written in the index) in buffers of their own, to transfer.
      const bytes = new Uint8Array(b.bytes);
      const filter = new Uint8Array(filterBytes(b.filter));
      transfer.push(bytes.buffer, filter.buffer);
      reply = { id: req.id, ok: true, header: b.header, bytes, filter };
    } catch (err) {
      reply = { id: req.id, ok: false, error: (err as Error)?.stack ?? String(err) };
    }
    parentPort!.postMessage(reply, transfer);
  });
}

// Loaded as the seal thread (the store worker imports this file too, for SealThread).
if (!isMainThread && (workerData as Partial<SealThreadInit> | null)?.role === 'ringlog-seal') serve();
