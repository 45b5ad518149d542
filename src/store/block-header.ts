/**
 * BlockHeader: what the index knows about a block without reading it (docs/storage.md,
 * "Blocks"). 72 bytes, little-endian, at the start of every block in a segment file
 * and copied into its index entry:
 *
 *    0 magic u32 'RLBK'    4 version u16   6 codec u8   7 flags u8 (0)
 *    8 epoch u32           12 count u32
 *   16 minMs f64           24 maxMs f64     32 minNs u32   36 maxNs u32
 *   40 rawLen u32          44 compLen u32   48 facMask u32 52 sevMask u8  53 (3 bytes 0)
 *   56 maxLsn f64          64 payloadCrc u32 (crc32c of the compressed payload)
 *   68 headerCrc u32 (crc32c of bytes 0–67)
 *
 * Times are whole ms since the epoch plus ns within the ms. `epoch` is the commit the
 * block belongs to: a block whose epoch is past the checkpoint's was never committed.
 */
import { crc32c } from '@node-rs/crc32';
import { BLOCK_MAGIC, CODEC_ZSTD, FORMAT_VERSION, MAX_BLOCK_BYTES } from './consts.js';
import { CorruptError } from './byte-buffer.js';

export const BLOCK_HEADER_SIZE = 72;

export interface BlockHeader {
  version: number;
  codec: number;
  epoch: number;
  count: number;
  minMs: number;
  minNs: number;
  maxMs: number;
  maxNs: number;
  rawLen: number;
  compLen: number;
  /** Bit f set: facility f occurs in the block. */
  facMask: number;
  /** Bit s set: severity s occurs in the block. */
  sevMask: number;
  /** Highest WAL LSN of the records in the block. */
  maxLsn: number;
  payloadCrc: number;
}

export function marshalBlockHeader(h: BlockHeader, out: Buffer, at: number): void {
  out.fill(0, at, at + BLOCK_HEADER_SIZE);
  out.writeUInt32LE(BLOCK_MAGIC, at);
  out.writeUInt16LE(h.version, at + 4);
  out.writeUInt8(h.codec, at + 6);
  out.writeUInt32LE(h.epoch >>> 0, at + 8);
  out.writeUInt32LE(h.count, at + 12);
  out.writeDoubleLE(h.minMs, at + 16);
  out.writeDoubleLE(h.maxMs, at + 24);
  out.writeUInt32LE(h.minNs, at + 32);
  out.writeUInt32LE(h.maxNs, at + 36);
  out.writeUInt32LE(h.rawLen, at + 40);
  out.writeUInt32LE(h.compLen, at + 44);
  out.writeUInt32LE(h.facMask >>> 0, at + 48);
  out.writeUInt8(h.sevMask, at + 52);
  out.writeDoubleLE(h.maxLsn, at + 56);
  out.writeUInt32LE(h.payloadCrc >>> 0, at + 64);
  out.writeUInt32LE(crc32c(out.subarray(at, at + 68)), at + 68);
}

/**
 * Reads and checks a header: magic, CRC, version, sane lengths and times. Throws
 * CorruptError when anything is off. The store's FORMAT file is where a store of
 * a version this build does not read is refused (store.ts checkFormat); inside a store
 * it reads, a header naming another layout version is damage like any other.
 */
export function unmarshalBlockHeader(buf: Uint8Array, at: number): BlockHeader {
  if (at + BLOCK_HEADER_SIZE > buf.length) throw new CorruptError('truncated block header');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.readUInt32LE(at) !== BLOCK_MAGIC) throw new CorruptError('bad block magic');
  if (crc32c(b.subarray(at, at + 68)) !== b.readUInt32LE(at + 68)) throw new CorruptError('block header CRC mismatch');
  const h: BlockHeader = {
    version: b.readUInt16LE(at + 4),
    codec: b.readUInt8(at + 6),
    epoch: b.readUInt32LE(at + 8),
    count: b.readUInt32LE(at + 12),
    minMs: b.readDoubleLE(at + 16),
    maxMs: b.readDoubleLE(at + 24),
    minNs: b.readUInt32LE(at + 32),
    maxNs: b.readUInt32LE(at + 36),
    rawLen: b.readUInt32LE(at + 40),
    compLen: b.readUInt32LE(at + 44),
    facMask: b.readUInt32LE(at + 48),
    sevMask: b.readUInt8(at + 52),
    maxLsn: b.readDoubleLE(at + 56),
    payloadCrc: b.readUInt32LE(at + 64),
  };
  if (h.version !== FORMAT_VERSION) throw new CorruptError(`block header names layout version ${h.version}, not ${FORMAT_VERSION}`);
  if (h.codec !== CODEC_ZSTD) throw new CorruptError(`unknown codec ${h.codec}`);
  if (h.rawLen > MAX_BLOCK_BYTES || h.compLen > MAX_BLOCK_BYTES || h.count === 0) throw new CorruptError('implausible block lengths');
  if (!Number.isSafeInteger(h.minMs) || !Number.isSafeInteger(h.maxMs) || h.minMs > h.maxMs) throw new CorruptError('implausible block time range');
  return h;
}

/** Orders (ms, ns) pairs. */
export function cmpTime(aMs: number, aNs: number, bMs: number, bNs: number): number {
  return aMs !== bMs ? aMs - bMs : aNs - bNs;
}
