#!/usr/bin/env node
/**
 * Compiles the `moment` command (lib/cli/moment.ts and what it imports) into one CommonJS file,
 * dist/cli/moment.js, so that a call does not compile TypeScript first (tsx took 0.5 s of every
 * start). npm runs it as `prepare` after `npm ci` and `npm install`; `npm run build:cli` runs it by hand,
 * and bin/moment.js runs it again when a source has changed since (see `isStale`).
 *
 * Packages in node_modules stay outside the bundle and are required when a command needs them (the
 * AWS SDK by `moment rollback` only). Beside the bundle, dist/cli/moment.inputs.json records each
 * source the bundle was built from with its modification time and size: the bundle is stale when any
 * of them differs or is gone. Plain JavaScript, so that it runs before anything is compiled.
 */
'use strict';
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const OUT_DIR = join(ROOT, 'dist/cli');
const BUNDLE = join(OUT_DIR, 'moment.js');
const INPUTS = join(OUT_DIR, 'moment.inputs.json');

/** What each source looked like when the bundle was built: [mtimeMs, size], or null when it is gone. */
const fingerprint = (file) => {
  try {
    const s = statSync(join(ROOT, file));
    return [s.mtimeMs, s.size];
  } catch {
    return null;
  }
};

/**
 * True when the bundle is missing or any source it was built from (this script included) has
 * changed or gone since. A source added later matters only once an existing source imports it, and
 * that source has then changed. About 60 `stat` calls: a millisecond.
 */
function isStale() {
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(INPUTS, 'utf8'));
    statSync(BUNDLE);
  } catch {
    return true;
  }
  for (const [file, then] of Object.entries(recorded.inputs)) {
    const now = fingerprint(file);
    if (now === null || then === null || now[0] !== then[0] || now[1] !== then[1]) return true;
  }
  return false;
}

/**
 * Builds the bundle and its record of inputs. Each is written to a temporary file and renamed, so a
 * `moment` started meanwhile (a loop in parallel, say) reads either the old files or the new ones.
 * The record is renamed last: a bundle without its record is rebuilt, never trusted.
 */
function build({ silent = false } = {}) {
  const esbuild = require('esbuild');
  const started = Date.now();
  const result = esbuild.buildSync({
    absWorkingDir: ROOT,
    stdin: {
      contents: "import './local/quiet';\nexport { main } from './lib/cli/moment';\n",
      resolveDir: ROOT,
      sourcefile: 'moment-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    metafile: true,
    write: false,
    outfile: BUNDLE,
    logLevel: silent ? 'silent' : 'warning',
  });
  const sources = [...Object.keys(result.metafile.inputs).filter((f) => f !== 'moment-entry.ts'), relative(ROOT, __filename)];
  // A source saved while the bundle was built (or just before, within the file system's time
  // resolution) may be in it or not: it is recorded as gone, so that the next call builds again.
  const inputs = Object.fromEntries(
    sources.map((f) => {
      const now = fingerprint(f);
      return [f, now !== null && now[0] < started - 2000 ? now : null];
    }),
  );
  mkdirSync(OUT_DIR, { recursive: true });
  const unique = `${process.pid}-${Date.now()}`;
  const [output] = result.outputFiles;
  writeFileSync(`${BUNDLE}.${unique}`, output.contents);
  renameSync(`${BUNDLE}.${unique}`, BUNDLE);
  writeFileSync(`${INPUTS}.${unique}`, `${JSON.stringify({ built: new Date().toISOString(), inputs })}\n`);
  renameSync(`${INPUTS}.${unique}`, INPUTS);
  return { bundle: BUNDLE, inputs: sources.length, bytes: output.contents.length };
}

module.exports = { BUNDLE, isStale, build };

if (require.main === module) {
  try {
    require.resolve('esbuild');
  } catch {
    // An install without the devDependencies (`npm ci --omit=dev`): bin/moment.js runs from source then.
    console.log('build-cli: esbuild is not installed; `moment` will run from its TypeScript sources');
    process.exit(0);
  }
  const done = build();
  console.log(`build-cli: ${relative(ROOT, done.bundle)} (${(done.bytes / 1024).toFixed(0)} KB from ${done.inputs} sources)`);
}
