/**
 * The native datagram receiver (native/dgram_receiver.cc): recvmmsg batches for UDP
 * and Unix datagram sockets. Optional: when the addon was not built, `loadNative()`
 * returns null and the listeners fall back to Node's dgram / the unix-dgram package.
 */
import { addonLoadError, loadAddon } from './addon.js';

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

/** The addon, or null (see `nativeLoadError()` for why) when it is not built or disabled with RINGLOG_NATIVE=off. */
export function loadNative(): NativeModule | null {
  return loadAddon() as NativeModule | null;
}

export function nativeLoadError(): string {
  return addonLoadError();
}
