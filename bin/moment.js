#!/usr/bin/env node
// The `moment` command for data scientists (lib/cli/moment.ts), run from its TypeScript source.
require('tsx/cjs');
require('../lib/cli/moment.ts')
  .main(process.argv.slice(2), { out: process.stdout, err: process.stderr })
  .then((code) => {
    process.exitCode = code;
  });
