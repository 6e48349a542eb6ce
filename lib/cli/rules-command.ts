/** `moment rules`: association rules from a basket file, as JSON or as a readable summary. */
import { readBaskets } from '../learn/baskets';
import { MAX_RULES, mineRules, ruleText, type MinedRules } from '../learn/rules';
import { DEFAULT_MAX_LENGTH, MAX_ITEMSETS } from '../learn/fpgrowth';
import { numberOption, options, readText, required, UsageError, type Streams } from './moment';

export const RULES_USAGE = `moment rules --baskets FILE --min-support S --min-confidence C [options]

Mines association rules with FP-Growth: every itemset in at least ceil(S x baskets) baskets, and the
rules with one item on the right whose confidence reaches C (as R's arules generates them).

  --baskets FILE        one basket a line, items separated by commas
  --min-support S       minimum support, a share of the baskets in (0, 1]
  --min-confidence C    minimum confidence in [0, 1]
  --max-length K        longest rule, both sides counted (default 10, as arules)
  --min-length K        shortest rule, both sides counted (default 1, as arules: a rule with nothing on
                        the left appears when an item alone is that common)
  --top N               rules shown in the summary, by lift (default 20)
  --max-itemsets N      stop with an error past N frequent itemsets (default 1,000,000): a support too low
                        for the data fails at once instead of mining for minutes
  --max-rules N         stop with an error past N rules (default 1,000,000)
  --json                print one JSON object: { baskets, items, frequentItemsets, rules: [{ if, then,
                        support, confidence, lift }] }, rules by lift
`;

export function rulesCommand(args: string[], io: Streams): void {
  const v = options(args, {
    baskets: { type: 'string' },
    'min-support': { type: 'string' },
    'min-confidence': { type: 'string' },
    'max-length': { type: 'string' },
    'min-length': { type: 'string' },
    top: { type: 'string' },
    'max-itemsets': { type: 'string' },
    'max-rules': { type: 'string' },
    json: { type: 'boolean' },
  });
  const file = required(v.baskets, 'baskets');
  const maxLength = numberOption(v['max-length'], 'max-length', { min: 1, max: 100, integer: true }, DEFAULT_MAX_LENGTH);
  const minLength = numberOption(v['min-length'], 'min-length', { min: 1, max: 100, integer: true }, 1);
  if (minLength > maxLength) throw new UsageError(`--min-length ${minLength} is longer than --max-length ${maxLength}`);
  const mined = mineRules(readBaskets(readText(file), file), {
    minSupport: numberOption(v['min-support'], 'min-support', { min: Number.MIN_VALUE, max: 1 }),
    minConfidence: numberOption(v['min-confidence'], 'min-confidence', { min: 0, max: 1 }),
    maxLength,
    minLength,
    maxItemsets: numberOption(v['max-itemsets'], 'max-itemsets', { min: 1, max: 100_000_000, integer: true }, MAX_ITEMSETS),
    maxRules: numberOption(v['max-rules'], 'max-rules', { min: 1, max: 100_000_000, integer: true }, MAX_RULES),
  });
  const top = numberOption(v.top, 'top', { min: 0, max: 1_000_000, integer: true }, 20);
  io.out.write(v.json === true ? `${JSON.stringify(asJson(mined))}\n` : summary(mined, top));
}

const asJson = (m: MinedRules) => ({
  baskets: m.baskets,
  items: m.items,
  frequentItemsets: m.frequentItemsets,
  rules: m.rules.map((r) => ({ if: r.if, then: r.then, support: r.support, confidence: r.confidence, lift: r.lift })),
});

function summary(m: MinedRules, top: number): string {
  const byLength = new Map<number, number>();
  for (const r of m.rules) byLength.set(r.if.length + 1, (byLength.get(r.if.length + 1) ?? 0) + 1);
  const lengths = [...byLength].sort(([a], [b]) => a - b).map(([length, n]) => `${length}: ${n}`).join(', ');
  const shown = m.rules.slice(0, top);
  const width = Math.min(70, shown.reduce((w, r) => Math.max(w, ruleText(r).length), 4));
  const rows = shown.map(
    (r) => `  ${ruleText(r).padEnd(width)}  ${r.support.toFixed(4)}  ${r.confidence.toFixed(4)}  ${r.lift.toFixed(3).padStart(7)}  ${String(r.count).padStart(6)}`,
  );
  return [
    `${m.baskets} baskets, ${m.items} items, ${m.frequentItemsets} frequent itemsets, ${m.rules.length} rules${lengths === '' ? '' : ` (by length ${lengths})`}`,
    ...(shown.length === 0 ? [] : ['', `Top ${shown.length} by lift:`, `  ${'rule'.padEnd(width)}  support  confid.     lift   count`, ...rows]),
    '',
  ].join('\n');
}
