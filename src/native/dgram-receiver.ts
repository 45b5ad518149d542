/**
 * The native datagram receiver (native/dgram_receiver.cc): recvmmsg batches for UDP
 * and Unix datagram sockets. Optional: when the addon was not built, `loadNative()`
 * returns null and the listeners fall back to Node's dgram / the unix-dgram package.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type OnDatagrams = (buf: Buffer, offsets: Uint32Array, peers: string[], truncated: number) => void;

export interface NativeDgramReceiver {
  start(): void;
  close(): void;
  address(): { address?: string; port?: number };
  setRecvBufferSize(bytes: number): void;
  /** As the kernel reports it: twice what it granted. */
  getRecvBufferSize(): number;
}

export interface NativeModule {
  DgramReceiver: new (
    opts: { family: 'udp4' | 'udp6'; host: string; port: number } | { family: 'unix'; path: string },
    onBatch: OnDatagrams,
  ) => NativeDgramReceiver;
}

let cached: NativeModule | null | undefined;
let loadError = '';

/** The addon, or null (see `nativeLoadError()` for why) when it is not built or disabled with RINGLOG_NATIVE=off. */
export function loadNative(): NativeModule | null {
  if (cached !== undefined) return cached;
  if (process.env.RINGLOG_NATIVE === 'off') {
    loadError = 'disabled by RINGLOG_NATIVE=off';
    cached = null;
    return cached;
  }
  const require = createRequire(import.meta.url);
  const path = fileURLToPath(new URL('../../../build/Release/ringlog_native.node', import.meta.url));
  try {
    cached = require(path) as NativeModule;
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0]!;
    cached = null;
  }
  return cached;
}

export function nativeLoadError(): string {
  return loadError;
}
