/**
 * Binding a listener to host:port, for every kind of socket. An empty host means
 * every interface: IPv6 dual-stack (`::`), or IPv4 (`0.0.0.0`) on machines without
 * IPv6. A failure becomes RL_LISTEN_FAILED naming the listener and the address.
 */
import { formatHostPort } from '../config/address.js';
import { RinglogError } from '../errors.js';

/** `attempt(host)` binds at `host` (a name, an IP literal, '::' or '0.0.0.0') and throws the system error on failure. */
export async function bindAddress<T>(host: string, port: number, name: string, verb: string, attempt: (host: string) => Promise<T> | T): Promise<T> {
  const fail = (err: unknown, h: string) =>
    new RinglogError('RL_LISTEN_FAILED', `listener ${name}: cannot ${verb} ${formatHostPort(h, port)}: ${(err as Error).message}`, { cause: err });
  if (host !== '') {
    try {
      return await attempt(host);
    } catch (err) {
      throw fail(err, host);
    }
  }
  try {
    return await attempt('::');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw fail(err, '::');
  }
  try {
    return await attempt('0.0.0.0');
  } catch (err) {
    throw fail(err, '0.0.0.0');
  }
}
