/**
 * Whether a file is open anywhere else (native/file_open.cc: a write lease is granted
 * only when no other descriptor has the file open). null when that cannot be told: no
 * addon, not Linux, or leases not supported there.
 */
import { nativeFunction } from './addon.js';

type Fn = (path: string) => boolean | null;
let fn: Fn | null | undefined;

export function fileOpenElsewhere(path: string): boolean | null {
  if (fn === undefined) fn = nativeFunction<Fn>('fileOpenElsewhere');
  return fn === null ? null : fn(path);
}
