import { Command } from 'commander';
import { serveCommand } from './serve.js';
import { benchCommand } from './bench.js';
import { queryCommand, tailCommand } from './query.js';

/** Entry point of the `ringlog` binary: one sub-command per file in this folder. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('ringlog')
    .description('ringlog: a high-performance log server')
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(queryCommand())
    .addCommand(tailCommand())
    .addCommand(benchCommand());
  await program.parseAsync(argv);
}
