/**
 * Framing entry point: `createFramer(opts)` for streams (TCP, TLS, unix stream),
 * `frameDatagram` for datagrams. See framer.ts for the contract.
 */
import type { Framer, FramerOptions } from './framer.js';
import { LfFramer } from './lf.js';
import { OctetFramer } from './octet.js';
import { createAutoFramer } from './auto.js';

export * from './framer.js';
export { LfFramer } from './lf.js';
export { OctetFramer } from './octet.js';
export { createAutoFramer } from './auto.js';
export { frameDatagram, type DatagramOptions } from './datagram.js';

/**
 * Default largest frame: 64 KiB.
 *  - It is the largest payload a UDP datagram can carry (65 507 bytes over IPv4),
 *    so a message gets the same limit whether it comes by UDP or TCP.
 *  - RFC 5425/6587 receivers must accept 2 KiB and should accept 8 KiB; real
 *    senders (Java stack traces, JSON with embedded documents) go well past 8 KiB,
 *    and syslog-ng's default log-msg-size is also 64 KiB.
 *  - It bounds memory per connection: a framer holds at most one partial frame,
 *    so 10 000 idle half-sent connections cost at most ~640 MiB, not unbounded.
 */
export const DEFAULT_MAX_FRAME = 64 * 1024;

/** Fills unset options with the defaults (64 KiB, truncate, no NUL delimiter). */
export function framerOptions(opts: Partial<FramerOptions> & Pick<FramerOptions, 'mode'>): FramerOptions {
  return {
    maxFrame: DEFAULT_MAX_FRAME,
    onOversize: 'truncate',
    nulDelimiter: false,
    ...opts,
  };
}

/** Builds the stream framer for `opts.mode`. Throws RangeError on invalid options. */
export function createFramer(opts: FramerOptions): Framer {
  switch (opts.mode) {
    case 'lf':
      return new LfFramer(opts);
    case 'octet':
      return new OctetFramer(opts, true);
    case 'auto':
      return createAutoFramer(opts);
    default:
      throw new RangeError(`framing: unknown mode ${String((opts as { mode: unknown }).mode)}`);
  }
}
