import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../lib/cli/moment';

const ROOT = join(__dirname, '../..');
const GROCERIES = join(ROOT, 'data/groceries.csv');

/** Runs `moment` in-process, capturing what it prints. */
async function moment(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
  return { code, out, err };
}

const file = (name: string, text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'moment-cli-')), name);
  writeFileSync(path, text);
  return path;
};

describe('moment rules', () => {
  it('stops a rule explosion at once with an error that says what to change, instead of mining for minutes', async () => {
    // Groceries at support 0.0002 has millions of itemsets (3.4 M rules); the limit stops it at the 20,001st.
    const itemsets = await moment('rules', '--baskets', GROCERIES, '--min-support', '0.0002', '--min-confidence', '0.1', '--max-itemsets', '20000');
    expect(itemsets.code).toBe(1);
    expect(itemsets.err).toBe('moment rules: more than 20000 frequent itemsets: raise the minimum support or lower the maximum length (or raise the limit)\n');
    expect(itemsets.out).toBe('');
    const rules = await moment('rules', '--baskets', GROCERIES, '--min-support', '0.001', '--min-confidence', '0.1', '--max-rules', '500');
    expect(rules.code).toBe(1);
    expect(rules.err).toMatch(/^moment rules: more than 500 rules: raise the minimum support or confidence/);
    // Within the limits, the same file mines as before.
    const fine = await moment('rules', '--baskets', GROCERIES, '--min-support', '0.01', '--min-confidence', '0.5', '--max-itemsets', '333', '--max-rules', '15', '--json');
    expect(fine.code).toBe(0);
    expect((JSON.parse(fine.out) as { rules: unknown[] }).rules).toHaveLength(15);
  });

  it('prints one JSON object with the rules by lift', async () => {
    const { code, out } = await moment('rules', '--baskets', GROCERIES, '--min-support', '0.01', '--min-confidence', '0.5', '--json');
    const parsed = JSON.parse(out) as { baskets: number; items: number; frequentItemsets: number; rules: Array<{ if: string[]; then: string; support: number; confidence: number; lift: number }> };
    expect(code).toBe(0);
    expect([parsed.baskets, parsed.items, parsed.frequentItemsets, parsed.rules.length]).toEqual([9835, 169, 333, 15]);
    expect(Object.keys(parsed.rules[0] ?? {})).toEqual(['if', 'then', 'support', 'confidence', 'lift']);
    expect(parsed.rules.map((r) => r.lift)).toEqual([...parsed.rules.map((r) => r.lift)].sort((a, b) => b - a));
  });

  it('prints a readable summary with the top rules by lift', async () => {
    const { code, out } = await moment('rules', '--baskets', GROCERIES, '--min-support', '0.001', '--min-confidence', '0.5', '--top', '3');
    expect(code).toBe(0);
    expect(out).toContain('9835 baskets, 169 items, 13492 frequent itemsets, 5668 rules (by length 2: 11, 3: 1461, 4: 3211, 5: 939, 6: 46)');
    expect(out.split('\n').filter((l) => l.includes(' => '))).toHaveLength(3);
  });

  it('limits the rule length', async () => {
    const { out } = await moment('rules', '--baskets', GROCERIES, '--min-support', '0.001', '--min-confidence', '0.5', '--max-length', '3', '--json');
    expect((JSON.parse(out) as { rules: unknown[] }).rules).toHaveLength(11 + 1461);
  });

  it.each([
    [['--min-support', '0.01', '--min-confidence', '0.5'], 2, '--baskets is required'],
    [['--baskets', GROCERIES, '--min-support', '2', '--min-confidence', '0.5'], 2, '--min-support must be a number'],
    [['--baskets', GROCERIES, '--min-support', 'often', '--min-confidence', '0.5'], 2, 'not "often"'],
    [['--baskets', GROCERIES, '--min-support', '0.01', '--min-confidence', '0.5', '--max-length', '2.5'], 2, '--max-length must be a whole number'],
    [['--baskets', GROCERIES, '--min-support', '0.01', '--min-confidence', '0.5', '--colour'], 2, "Unknown option '--colour'"],
    [['--baskets', '/no/such/file.csv', '--min-support', '0.01', '--min-confidence', '0.5'], 1, 'cannot open /no/such/file.csv: no such file or directory'],
  ])('refuses %j with a clear message and no stack trace', async (args, expectedCode, message) => {
    const { code, err, out } = await moment('rules', ...args);
    expect([code, out]).toEqual([expectedCode, '']);
    expect(err).toContain(message);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('names the file and line of a bad basket file', async () => {
    const empty = file('empty.csv', '\n\n');
    expect((await moment('rules', '--baskets', empty, '--min-support', '0.1', '--min-confidence', '0.5')).err).toContain(`${empty}:1: no baskets: the file is empty`);
    const holed = file('holed.csv', 'milk,bread\nmilk,,eggs\n');
    const { code, err } = await moment('rules', '--baskets', holed, '--min-support', '0.1', '--min-confidence', '0.5');
    expect(code).toBe(1);
    expect(err).toContain(`${holed}:2:6: an empty item (item 2 of the basket)`);
  });

  it('refuses a minimum length above the maximum', async () => {
    const { code, err } = await moment('rules', '--baskets', GROCERIES, '--min-support', '0.01', '--min-confidence', '0.5', '--min-length', '4', '--max-length', '2');
    expect(code).toBe(2);
    expect(err).toContain('--min-length 4 is longer than --max-length 2');
  });

  it('shows a quarter of a million rules when asked to', async () => {
    const items = Array.from({ length: 15 }, (_, i) => `item${i}`).join(',');
    const same = file('same.csv', `${items}\n${items}\n${items}\n`);
    const { code, out } = await moment('rules', '--baskets', same, '--min-support', '0.5', '--min-confidence', '0.5', '--top', '1000000');
    expect(code).toBe(0);
    // Every combination of the 15 items up to arules' default length of 10, and each of its items on the right.
    expect(out).toContain('30826 frequent itemsets, 223695 rules');
  });

  it('answers an unknown command with the usage', async () => {
    const { code, err } = await moment('forecast');
    expect(code).toBe(2);
    expect(err).toContain('unknown command "forecast"');
    expect(err).toContain('moment rules --baskets FILE');
  });
});

// Compiled is how it runs (dist/cli/moment.js, built at `npm ci` or by the bin when lib/ changed);
// from the sources through tsx when it cannot be built. test/unit/cli-bin.test.ts shows which, when.
describe.each([
  ['compiled', '0'],
  ['from its TypeScript sources', '1'],
])('the moment command as installed (bin/moment.js), %s', (_, fromSource) => {
  const env = { ...process.env, MOMENT_FROM_SOURCE: fromSource };

  it('runs from a shell and exits with the command’s code', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'bin/moment.js'), 'rules', '--baskets', GROCERIES, '--min-support', '0.01', '--min-confidence', '0.5', '--json'], { encoding: 'utf8', env });
    expect((JSON.parse(out) as { rules: unknown[] }).rules).toHaveLength(15);
    let code = 0;
    try {
      execFileSync(process.execPath, [join(ROOT, 'bin/moment.js'), 'rules'], { stdio: 'pipe', env });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    expect(code).toBe(2);
  });
});
