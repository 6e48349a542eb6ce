#!/usr/bin/env node
// The `moment` command for data scientists (lib/cli/moment.ts), compiled.
//
// It runs dist/cli/moment.js, the bundle scripts/build-cli.js makes (`npm ci` and `npm install` run it
// as `prepare`, `npm run build:cli` by hand), and never one older than its sources: at each call the
// sources the bundle was built from are compared (modification time and size) with the record
// beside it, about a millisecond. When one has changed, as after editing lib/, the bundle is built
// again first (a fifth of a second, once); when it cannot be (no esbuild, a folder it cannot write,
// a syntax error, which tsx then reports), the command runs from its TypeScript sources through tsx,
// as it did before it was compiled (0.2-0.5 s more a call). MOMENT_FROM_SOURCE=1 runs from the sources.
'use strict';

// Output piped into a command that stops reading (head, say) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

function compiled() {
  if (process.env.MOMENT_FROM_SOURCE === '1') return undefined;
  const bundle = require('../scripts/build-cli.js');
  if (bundle.isStale()) {
    try {
      bundle.build({ silent: true });
    } catch {
      return undefined;
    }
  }
  return require(bundle.BUNDLE);
}

async function fromSource() {
  require('tsx/cjs');
  // The commands are imported when run (`import()`), which tsx/cjs alone does not compile.
  (await import('tsx/esm/api')).register();
  require('../local/quiet.ts');
  return require('../lib/cli/moment.ts');
}

const cli = compiled();
(cli === undefined ? fromSource() : Promise.resolve(cli))
  .then((moment) => moment.main(process.argv.slice(2), { out: process.stdout, err: process.stderr }))
  .then((code) => {
    process.exitCode = code;
  });
