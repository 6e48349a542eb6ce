import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * bin/moment.js runs the compiled bundle (dist/cli/moment.js), and never one older than its sources:
 * shown on a copy of the project (its own dist/, the same node_modules), where a developer edits
 * lib/ between two calls.
 */
const ROOT = join(__dirname, '../..');

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'moment-bin-'));
  for (const path of ['bin', 'scripts', 'lib', 'config', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  mkdirSync(join(dir, 'local'));
  cpSync(join(ROOT, 'local/quiet.ts'), join(dir, 'local/quiet.ts'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function moment(dir: string, args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const done = spawnSync(process.execPath, [join(dir, 'bin/moment.js'), ...args], { encoding: 'utf8', env: { ...process.env, MOMENT_FROM_SOURCE: '', ...env } });
  return { code: done.status, out: done.stdout, err: done.stderr };
}

const edit = (file: string, from: string, to: string) => {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
};

describe('bin/moment.js', () => {
  let dir: string;
  beforeAll(() => {
    dir = project();
  });
  const bundle = () => join(dir, 'dist/cli/moment.js');

  it('builds the bundle when there is none (a clone before `npm ci` ran prepare), then runs it', () => {
    expect(existsSync(bundle())).toBe(false);

    const { code, out } = moment(dir, ['--help']);

    expect(code).toBe(0);
    expect(out).toContain("moment: the nightly job's methods, on your own files");
    expect(existsSync(bundle())).toBe(true);
  });

  it('runs what lib/ says now after an edit: the bundle is built again', () => {
    edit(join(dir, 'lib/cli/moment.ts'), "the nightly job's methods, on your own files", 'the edited usage');

    const { code, out } = moment(dir, ['--help']);

    expect(code).toBe(0);
    expect(out).toContain('moment: the edited usage');
    expect(readFileSync(bundle(), 'utf8')).toContain('the edited usage');
  });

  it('an edit in a command’s own module counts too, and so does one in a configuration file it bundles', () => {
    edit(join(dir, 'lib/cli/rules-command.ts'), 'Mines association rules with FP-Growth', 'Mines rules, edited,');

    const { out } = moment(dir, ['rules', '--help']);

    expect(out).toContain('Mines rules, edited,');
    edit(join(dir, 'config/model.json'), '"$comment": "Demo model artifact', '"$comment": "Edited demo model artifact');
    moment(dir, ['--help']);
    expect(readFileSync(bundle(), 'utf8')).toContain('Edited demo model artifact');
  });

  it('never falls back on the old bundle: a source that does not compile is reported, from the sources', () => {
    edit(join(dir, 'lib/cli/moment.ts'), 'const USAGE = `', 'const USAGE = = `');

    const { code, out, err } = moment(dir, ['--help']);

    expect(code).not.toBe(0);
    expect(out).not.toContain('the edited usage');
    expect(err).toMatch(/moment\.ts/);
  });

  it('runs from the TypeScript sources through tsx with MOMENT_FROM_SOURCE=1', () => {
    edit(join(dir, 'lib/cli/moment.ts'), 'const USAGE = = `', 'const USAGE = `');
    edit(join(dir, 'lib/cli/moment.ts'), 'the edited usage', 'read from source');
    const built = readFileSync(bundle(), 'utf8');

    const { code, out } = moment(dir, ['--help'], { MOMENT_FROM_SOURCE: '1' });

    expect(code).toBe(0);
    expect(out).toContain('moment: read from source');
    expect(readFileSync(bundle(), 'utf8')).toBe(built);
  });
});
