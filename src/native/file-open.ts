/**
 * Whether a file is open anywhere else (native/file_open.cc: a write lease is granted
 * only when no other descriptor has the file open). null when that cannot be told: no
 * addon, not Linux, or leases not supported there.
 */
import { nativeFunction } from './addon.js';

export function fileOpenElsewhere(path: string): boolean | null {
  const fn = nativeFunction<(p: string) => boolean | null>('fileOpenElsewhere');
  return fn === null ? null : fn(path);
}
