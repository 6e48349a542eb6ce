#!/usr/bin/env node
// The `moment` command for data scientists (lib/cli/moment.ts), run from its TypeScript source.
require('tsx/cjs');
require('../local/quiet.ts');
// Output piped into a command that stops reading (head, say) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
require('../lib/cli/moment.ts')
  .main(process.argv.slice(2), { out: process.stdout, err: process.stderr })
  .then((code) => {
    process.exitCode = code;
  });
