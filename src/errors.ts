/**
 * Every error code ringlog reports, in one place. Codes are never reused; each is
 * documented in docs/errors.md (a test keeps the two in sync).
 */

export const ERROR_CODES = {
  RL_CONFIG_INVALID: 'The configuration (file, environment or flags) has a bad value; the message names the key and what is allowed.',
  RL_LISTEN_FAILED: 'A listener could not bind its address or path (in use, permission denied, no such interface).',
  RL_TLS_FILES: 'The TLS certificate, key or CA file of a listener could not be read or is not valid PEM.',
  RL_OUTPUT_FAILED: 'An output could not be opened or written (for example the NDJSON file).',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class RinglogError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'RinglogError';
  }
}

export class ConfigError extends RinglogError {
  constructor(message: string) {
    super('RL_CONFIG_INVALID', message);
    this.name = 'ConfigError';
  }
}
