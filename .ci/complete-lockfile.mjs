// The package registry this workplace reaches serves only some platform builds of native packages
// (@swc/core-*, @unrs/resolver-binding-*): `npm install` then leaves the other platforms' optional
// packages out of package-lock.json, and `npm ci` refuses the lockfile ("Missing: ... from lock
// file"). This adds a lock entry, marked optional with its os/cpu, for every optional dependency the
// lockfile declares but lacks; npm skips them on other platforms without fetching anything.
// Run after `npm install`: `node .ci/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const platform = (name) => {
  const os = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony'].find((o) => name.includes(`-${o}-`) || name.includes(`/${o}-`)) ?? 'unknown';
  const cpu = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64'].find((c) => new RegExp(`-${c}(-|$)`).test(name.split('/').pop())) ?? 'unknown';
  return { os: [os], cpu: [cpu === 'arm' && /eabi/.test(name) ? 'arm' : cpu] };
};
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    lock.packages[key] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform(name) };
    added += 1;
  }
}
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} optional platform entries`);
