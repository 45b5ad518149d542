/**
 * The optional native addon (build/Release/ringlog_native.node, native/*.cc), loaded
 * once per thread. Every part of it has a JavaScript path that is used when the addon
 * is not built, lacks the part (an older build), or RINGLOG_NATIVE=off.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

let cached: Record<string, unknown> | null | undefined;
let loadError = '';

/** The addon's exports, or null (addonLoadError() says why). */
export function loadAddon(): Record<string, unknown> | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.RINGLOG_NATIVE === 'off') {
    loadError = 'disabled by RINGLOG_NATIVE=off';
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = require(fileURLToPath(new URL('../../../build/Release/ringlog_native.node', import.meta.url))) as Record<string, unknown>;
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0]!;
  }
  return cached;
}

export function addonLoadError(): string {
  return loadError;
}

/** The addon's function `name`, or null when there is no addon or no such function. */
export function nativeFunction<T>(name: string): T | null {
  const f = loadAddon()?.[name];
  return typeof f === 'function' ? (f as T) : null;
}
