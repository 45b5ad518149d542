/**
 * Snappy *block* format (not the framed/stream format): what Loki's protobuf push
 * body is (Promtail, Grafana Alloy and Loki's own clients compress the marshalled
 * PushRequest with Go's snappy.Encode). The format is specified in the snappy
 * project's format_description.txt: a varint with the decompressed length, then
 * literal and copy elements.
 *
 * Library: `snappy` (napi-rs bindings to the Rust `snap` crate). It is maintained,
 * ships prebuilt binaries for every platform ringlog runs on as optional packages
 * (no install script, no compiler needed, nothing downloaded at install time), and
 * `snap` is memory-safe and fast. The pure-JS alternative, snappyjs, has had no
 * release for years. We still read the length preamble ourselves first: it is the
 * one thing a hostile body controls cheaply (five bytes can ask for 4 GiB), and
 * checking it against the limit before anything is allocated is our job.
 */
import snappy from 'snappy';
import { IngestDecodeError } from './types.js';

/** The decompressed length a snappy block states (a varint of at most 32 bits), or -1 when it is malformed. */
export function snappyDeclaredLength(b: Uint8Array): number {
  let v = 0;
  for (let i = 0; i < 5 && i < b.length; i++) {
    const c = b[i]!;
    v += (c & 0x7f) * 2 ** (7 * i);
    if ((c & 0x80) === 0) return v <= 0xffffffff ? v : -1;
  }
  return -1;
}

/** Decompresses a snappy block of at most `maxLength` decompressed bytes. */
export function uncompressSnappyBlock(body: Buffer, maxLength: number): Buffer {
  const n = snappyDeclaredLength(body);
  if (n < 0) throw new IngestDecodeError('bad_snappy', 'the body is not snappy-compressed (block format): bad length preamble');
  if (n > maxLength) {
    throw new IngestDecodeError('too_large', `the body decompresses to ${n} bytes, more than the limit of ${maxLength}`);
  }
  let out: Buffer;
  try {
    out = snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw new IngestDecodeError('bad_snappy', `the body is not snappy-compressed (block format): ${(err as Error).message}`);
  }
  if (out.length !== n) throw new IngestDecodeError('bad_snappy', `the snappy block states ${n} bytes but holds ${out.length}`);
  return out;
}

/** Compresses into a snappy block (for tests and the load generator). */
export function compressSnappyBlock(data: Uint8Array): Buffer {
  return snappy.compressSync(data);
}
