/**
 * The store's file names, magic numbers, format version and limits, in one place,
 * each limit with the reason for its value. The formats themselves are described in
 * docs/storage.md; change STORE_VERSION whenever a byte of them changes meaning, and
 * FORMAT_VERSION as well when the layout of a file or block header does.
 *
 *   DATA_DIR/store/
 *     FORMAT                          "ringlog-store 3\nwal-key <hex> from <LSN>\n" (wal-key.ts): refuse to open anything but 1, 2 or 3
 *     LOCK                            pid of the server writing the store
 *     checkpoint                      two CHECKPOINT_SLOT-byte slots, the newer valid one counts
 *     wal/<first LSN, 16 hex>.wal     write-ahead log files
 *     partitions/<YYYY-MM-DDTHH>/     one directory per UTC hour of record time
 *       <segment no, 6 digits>.seg    blocks: header + zstd payload
 *       <segment no, 6 digits>.idx    per block: header copy + token filter (what queries read first)
 */

/**
 * The store's version, in its FORMAT file. 2: index entries may hold a binary fuse
 * filter (block-filter.ts). 3: a WAL file's log ends at an end mark, and a recycled
 * WAL file keeps its old entries past it (wal-reader.ts), which a version 2 reader
 * would take for damage or, following the log, for new entries. Older stores are read
 * as they are (their WAL files end at zeros, which read as an end mark) and become
 * version 3 when a server opens them to write.
 */
export const STORE_VERSION = 3;
/** Store versions this build reads. */
export const READABLE_STORE_VERSIONS: readonly number[] = [1, 2, 3];
/** The layout version in every file header and block header (unchanged since store version 1). */
export const FORMAT_VERSION = 1;
/** A WAL file's header version when its entry checksums are keyed (wal-key.ts); FORMAT_VERSION when not. */
export const WAL_KEYED_VERSION = 2;
export const FORMAT_FILE = 'FORMAT';
export const LOCK_FILE = 'LOCK';
export const CHECKPOINT_FILE = 'checkpoint';
export const WAL_DIR = 'wal';
export const PARTITIONS_DIR = 'partitions';
export const STORE_DIR = 'store';

/** 'RLWL': WAL file header; 'RLWE': WAL entry. */
export const WAL_FILE_MAGIC = 0x4c574c52;
export const WAL_ENTRY_MAGIC = 0x45574c52;
/** 'RLSG': segment file header; 'RLBK': block header. */
export const SEG_FILE_MAGIC = 0x47534c52;
export const BLOCK_MAGIC = 0x4b424c52;
/** 'RLIX': index file header and index entries. */
export const IDX_FILE_MAGIC = 0x58494c52;
export const IDX_ENTRY_MAGIC = 0x45494c52;
/** 'RLCP': checkpoint slot. */
export const CHECKPOINT_MAGIC = 0x50434c52;

/** Every file starts with magic u32 · version u32 · 8 bytes (WAL: first LSN as f64; others 0). */
export const FILE_HEADER_SIZE = 16;
/** WAL entry: magic u32 · body length u32 · checksum u32 (crc32c of the body, masked in a keyed file: wal-key.ts). */
export const WAL_ENTRY_HEADER_SIZE = 12;
/** The end mark the writer puts after each write's entries (and after a new file's header): a zero word where the next entry's magic would be. */
export const WAL_END_MARK = 4;
/** A checkpoint slot: magic u32 · version u32 · seq f64 · epoch f64 · lsn f64 · crc32c u32, padded. */
export const CHECKPOINT_SLOT = 64;

/** The one compression a block uses today (block header `codec`). */
export const CODEC_ZSTD = 1;

/**
 * Largest WAL entry body: a pipeline write is at most a few MiB of frames (pipeline
 * maxWriteBytes), so anything larger in a length field is corruption, not data.
 */
export const MAX_WAL_ENTRY = 256 * 1024 * 1024;
/** Largest block payload, raw or compressed: builders seal at ~1 MiB; a single record may be up to maxFrame (16 MiB). */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
/** Largest index entry (header + token filter): bloom filters are capped at 8 MiB (bloom-filter.ts), fuse filters at 2 MiB (fuse-filter.ts). */
export const MAX_IDX_ENTRY = 9 * 1024 * 1024;

/** A WAL file is closed and a new one started past this size: small enough to delete soon after a commit. */
export const WAL_FILE_TARGET = 64 * 1024 * 1024;
/** The next WAL file, made ahead of time (wal-writer.ts: zero-filled, or a committed file recycled); a name WAL listings ignore. */
export const WAL_PREPARED_FILE = 'next.walprep';
/** A second one, for a committed file recycled while the first is ready or on its way. */
export const WAL_SPARE_FILE = 'next.walspare';
/** A segment file is closed past this size; retention by size deletes whole segments, so this is its granularity. */
export const SEGMENT_TARGET = 64 * 1024 * 1024;
/** Partition width: one UTC hour, so retention by age works in hours and a late record opens at most one small block per hour it hits. */
export const PARTITION_MS = 3_600_000;

/** Transports as stored: their names (a new one is just a new string). */
export type StoredSource = { listener: string; transport: string; peer: string };
