// OpenAPI tools that ship as ES modules, which jest's CommonJS loader does not take, run in a process
// of their own:
//   node test/support/openapi-tools.mjs lint FILE        Redocly's linter (recommended-strict: every
//                                                        rule an error); prints problems as JSON lines, exit 1 if any
//   node test/support/openapi-tools.mjs types FILE OUT   TypeScript types for a client (openapi-typescript)
import { readFileSync, writeFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';

const [command, file, out] = process.argv.slice(2);
const source = readFileSync(file, 'utf8');
if (command === 'lint') {
  const config = await createConfig({ extends: ['recommended-strict'] });
  const problems = await lintFromString({ source, absoluteRef: file, config });
  for (const p of problems) console.log(JSON.stringify({ rule: p.ruleId, severity: p.severity, message: p.message, at: p.location?.[0]?.pointer }));
  process.exit(problems.length > 0 ? 1 : 0);
} else if (command === 'types') {
  // A property with a default may be left out of a request: not required in the types (openapi-typescript's default makes it so).
  writeFileSync(out, astToString(await openapiTS(JSON.parse(source), { defaultNonNullable: false })));
} else {
  console.error('usage: openapi-tools.mjs lint FILE | types FILE OUT');
  process.exit(2);
}
