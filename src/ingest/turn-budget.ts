/**
 * A cap on the bytes stream sockets may hand the event loop in one turn.
 *
 * libuv reads a readable socket up to 32 times in a row before it looks at anything
 * else, and every ready socket gets its turn in the same poll phase: under load, one
 * loop turn can parse many megabytes while the completions of the WAL's write and
 * fdatasync wait — they are what acknowledges records, so their wait is the ack
 * latency. Past TURN_BYTES in a turn, a socket is paused and resumed on setImmediate
 * (the check phase, right after this poll phase): the next turn then starts with the
 * completions that were waiting. Nothing is lost or refused; a socket just yields.
 */
import type { Socket } from 'node:net';

/** About 8,000 128-byte records, a few ms of parsing: the most one turn takes from the sockets. */
export const TURN_BYTES = 1 << 20;

let turnBytes = 0;
let scheduled = false;
/** Sockets that yielded this turn, with the backpressure set that may hold them longer. */
const yielded: { socket: Socket; held: { has(s: Socket): boolean } }[] = [];

function nextTurn(): void {
  scheduled = false;
  turnBytes = 0;
  for (const { socket, held } of yielded.splice(0)) {
    // A socket paused for backpressure meanwhile stays paused: the pipeline resumes it.
    if (!socket.destroyed && socket.isPaused() && !held.has(socket)) socket.resume();
  }
}

/**
 * Counts n bytes just read from `socket`; pauses it until the next turn when the turn's
 * budget is spent. `held`: the sockets paused for backpressure (not to be resumed here).
 */
export function spend(socket: Socket, n: number, held: { has(s: Socket): boolean }): void {
  turnBytes += n;
  if (!scheduled) {
    scheduled = true;
    setImmediate(nextTurn);
  }
  if (turnBytes >= TURN_BYTES && !socket.isPaused()) {
    socket.pause();
    yielded.push({ socket, held });
  }
}
