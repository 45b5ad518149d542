#!/usr/bin/env node
import { main } from '../dist/src/cli/index.js';

main(process.argv).catch((err) => {
  process.stderr.write(`ringlog: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
