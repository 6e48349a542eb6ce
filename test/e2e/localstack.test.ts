import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The LocalStack section of docs/deploy.md (linked from the README), as far as it runs without Docker: cdklocal (a dev dependency)
 * resolves to this project's CDK and synthesizes the stack with LocalStack's endpoints; every
 * command the section runs through npx or node resolves in a fresh install.
 */
const root = join(__dirname, '../..');
const section = (() => {
  const page = readFileSync(join(root, 'docs/deploy.md'), 'utf8');
  const start = page.indexOf('## Deploy to LocalStack');
  const end = page.indexOf('\n## ', start + 1);
  return page.slice(start, end < 0 ? undefined : end);
})();

it('runs cdklocal from the project (the CDK it wraps is the project\'s) and synthesizes the stack', () => {
  const version = spawnSync('npx', ['cdklocal', '--version'], { cwd: root, encoding: 'utf8' });
  expect(version.status).toBe(0);
  const cdk = JSON.parse(readFileSync(join(root, 'node_modules/aws-cdk/package.json'), 'utf8')) as { version: string };
  expect(version.stdout).toContain(`cdk cli version v${cdk.version}`);
  const out = mkdtempSync(join(tmpdir(), 'cdklocal-'));
  const synth = spawnSync('npx', ['cdklocal', 'synth', '-q', '-o', out], { cwd: root, encoding: 'utf8', env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' } });
  expect(synth.stderr).toContain('cdk-nag (AwsSolutions, Serverless): 0 errors, 0 warnings');
  expect(synth.status).toBe(0);
  const template = JSON.parse(readFileSync(join(out, 'MomentEngine.template.json'), 'utf8')) as { Outputs: Record<string, unknown> };
  // The outputs step 3 reads.
  expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining(['ApiUrl', 'WriteKeysSecretArn', 'ApiKeysSecretArn']));
});

it('documents only commands that resolve: npx tools are installed, node modules required are dependencies', () => {
  const npx = [...section.matchAll(/^npx (\S+)/gm)].map((m) => m[1] as string);
  expect(npx).toEqual(expect.arrayContaining(['cdklocal']));
  for (const bin of npx) expect({ bin, installed: existsSync(join(root, 'node_modules/.bin', bin)) }).toEqual({ bin, installed: true });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  for (const m of section.matchAll(/require\('([^.'][^']*)'\)/g)) expect(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })).toContain(m[1]);
  for (const m of section.matchAll(/\.MomentEngine\.(\w+)/g)) expect(['ApiUrl', 'WriteKeysSecretArn', 'ApiKeysSecretArn']).toContain(m[1]);
});
