import { isIPv4 } from 'node:net';

/** `host:port` parsing for listener addresses: `127.0.0.1:5140`, `[::1]:5140`, `:5140`, `5140`. */

export interface HostPort {
  /** Empty string means every interface (IPv6 dual-stack where available, else IPv4). */
  host: string;
  port: number;
}

export function parseHostPort(input: string): HostPort | null {
  const s = input.trim();
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (/^\d+$/.test(s)) {
    host = '';
    portText = s;
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0) return null;
    host = s.slice(0, i);
    portText = s.slice(i + 1);
    // An unbracketed IPv6 literal is ambiguous (`::1:5140`): require brackets.
    if (host.includes(':')) return null;
    if (!/^\d+$/.test(portText)) return null;
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  if (host === '*') host = '';
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A sender's address as shown in records and logs. A dual-stack socket reports IPv4
 * senders as IPv4-mapped IPv6 (`::ffff:127.0.0.1`); they are shown as the IPv4
 * address they are (`127.0.0.1:40312`).
 */
export function formatPeer(address: string, port: number): string {
  if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) return `${address.slice(7)}:${port}`;
  return formatHostPort(address, port);
}
