/** `ringlog serve`: runs the server until SIGTERM or SIGINT, then shuts down gracefully. */
import { constants as osConstants } from 'node:os';
import { Command, Option } from 'commander';
import { SERVE_OPTIONS, envName, loadConfig } from '../config/load.js';
import { RinglogServer } from '../main.js';
import { setHeapGrowth } from '../heap-growth.js';

export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description('run the log server (defaults: TCP and UDP syslog on :5140, HTTP on :5080, data in ./ringlog-data)')
    .option('-c, --config <FILE>', 'configuration file, JSON or YAML (env RINGLOG_CONFIG); flags and RINGLOG_* variables override it');
  for (const def of SERVE_OPTIONS) {
    const spec = def.arg ? `--${def.flag} <${def.arg}>` : `--${def.flag}`;
    const opt = new Option(spec, `${def.help} [env ${envName(def)}]`);
    if (def.kind === 'list') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  cmd.addHelpText('after', '\nSizes take units (64KiB, 16MiB), durations too (250ms, 30s, 5m). Every option can also be set in the config file; see docs/configuration.md.');
  cmd.action(async (opts: Record<string, unknown>) => {
    const config = loadConfig({ flags: opts, configFile: opts.config as string | undefined });
    // Before any worker starts: V8 flags are process-wide, and each heap reads this one when it recomputes its limits.
    setHeapGrowth(config.runtime.heapGrowthPercent);
    const server = new RinglogServer(config);
    server.onFatal = (err) => {
      server.log.error('fatal error: exiting', { error: err.message });
      process.exit(70);
    };
    await server.start();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        server.log.warn('second signal: exiting without draining', { signal: sig, queued_bytes: server.queuedBytes });
        process.exit(128 + (osConstants.signals[sig] ?? 15));
      }
      server.log.info('signal received', { signal: sig });
      server.stop().then(
        () => process.exit(0),
        (err) => {
          server.log.error('shutdown failed', { error: (err as Error).message });
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // SIGHUP: reopen output files (after logrotate moved them away).
    process.on('SIGHUP', () => {
      server.log.info('signal received: reopening outputs', { signal: 'SIGHUP' });
      server.reopenOutputs().catch((err) => server.log.error('reopening outputs failed', { error: (err as Error).message }));
    });
    // A peer closing mid-write must not kill the process (Node ignores SIGPIPE already; be explicit).
    process.on('SIGPIPE', () => {});
  });
  return cmd;
}
