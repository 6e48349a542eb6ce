import { loadCatalog, type Offer } from '../../lib/decision/catalog';
import type { DecisionFacts } from '../../lib/decision/decide';
import { loadModel, TREE_LIMITS } from '../../lib/decision/model';
import { dataset, parseCsv } from '../../lib/learn/csv';
import { artifactTarget } from '../../lib/learn/export';
import { createRandom } from '../../lib/learn/metrics';
import { fitModel, predict } from '../../lib/learn/train';

/** Customers with three behaviour features (as the artifact computes them) and whether they bought paint. */
function customers(n: number, seed: number): { csv: string; rows: Array<{ views: number; orders: number; recency: number }> } {
  const random = createRandom(seed);
  const rows = Array.from({ length: n }, () => ({ views: Math.floor(random() * 12), orders: Math.floor(random() * 5), recency: Math.floor(random() * 200) }));
  const bought = rows.map((r) => (random() < 1 / (1 + Math.exp(-(-3 + 0.35 * r.views + 0.4 * r.orders - 0.004 * r.recency))) ? 1 : 0));
  return { csv: ['paintViews,orders,recency,bought', ...rows.map((r, i) => `${r.views},${r.orders},${r.recency},${bought[i]}`)].join('\n'), rows };
}

const features = [
  { name: 'paintViews', path: 'aggregates.paintViews' },
  { name: 'orders', path: 'aggregates.orders' },
  { name: 'recency', path: 'derived.daysSinceLastOrder' },
];
const paint = loadCatalog().offers.find((o) => o.category === 'paint') as Offer;
const factsOf = (r: { views: number; orders: number; recency: number }): DecisionFacts => ({
  aggregates: { paintViews: r.views, orders: r.orders },
  derived: { daysSinceLastOrder: r.recency },
  traits: {},
  stage: 'exploring',
  batch: {},
  segments: [],
});

describe('a trained model published as a target of the decision model artifact', () => {
  const { csv, rows } = customers(3000, 11);
  const data = dataset(parseCsv(csv, 'customers.csv'), { target: 'bought' });

  it.each(['logistic', 'tree'] as const)('scores every customer as the trained %s model does', (kind) => {
    const model = fitModel(kind, data, data.y);
    const artifact = loadModel({ version: `t-${kind}`, kind: 'propensity', features, targets: { [`category:${paint.category}`]: artifactTarget(model) } });
    const expected = predict(model, data);
    const scored = rows.map((r) => artifact.scorer(factsOf(r))(paint) as number);
    scored.forEach((p, i) => expect(p).toBeCloseTo(expected[i] as number, 10));
    if (kind === 'tree') expect(new Set(scored).size).toBeGreaterThan(2);
  });

  it('refuses a model with a categorical column, naming it', () => {
    const withRegion = dataset(parseCsv(['region,paintViews,bought', ...rows.map((r, i) => `${i % 2 ? 'north' : 'south'},${r.views},${i % 3 === 0 ? 1 : 0}`)].join('\n'), 'c.csv'), { target: 'bought' });
    expect(() => artifactTarget(fitModel('logistic', withRegion, withRegion.y))).toThrow(/column "region" is categorical/);
  });
});

describe('tree targets in the artifact', () => {
  const base = { version: 't', kind: 'propensity' as const, features };
  const load = (tree: unknown, kind: 'propensity' | 'logistic' = 'propensity') => () => loadModel({ ...base, kind, targets: { default: { tree } } });

  it('walks the splits: at or below a threshold goes left of it', () => {
    const model = loadModel({ ...base, targets: { default: { tree: { p: 0.1, feature: 'orders', thresholds: [0, 2], children: [{ p: 0.05 }, { p: 0.2 }, { p: 0.6 }] } } } });
    const at = (orders: number) => model.scorer(factsOf({ views: 0, orders, recency: 0 }))(paint);
    expect([at(0), at(1), at(2), at(3), at(9)]).toEqual([0.05, 0.2, 0.2, 0.6, 0.6]);
  });

  it.each([
    [{ p: 0.1, feature: 'basket', thresholds: [1], children: [{ p: 0 }, { p: 1 }] }, /target "default" tree.feature: no feature named "basket"/],
    [{ p: 0.1, feature: 'orders', thresholds: [2, 1], children: [{ p: 0 }, { p: 0.5 }, { p: 1 }] }, /tree.thresholds: must be ascending/],
    [{ p: 0.1, feature: 'orders', thresholds: [1, 2], children: [{ p: 0 }, { p: 1 }] }, /tree.children: must be one more than the thresholds/],
    [{ p: 1.5 }, /target "default" tree.p: Too big/],
  ])('refuses a malformed tree, naming the node and field (%#)', (tree, message) => {
    expect(load(tree)).toThrow(message);
  });

  it('refuses a tree deeper than its limit, and a tree in an artifact of kind logistic', () => {
    let deep: unknown = { p: 0.5 };
    for (let i = 0; i < TREE_LIMITS.depth; i++) deep = { p: 0.5, feature: 'orders', thresholds: [i], children: [{ p: 0 }, deep] };
    expect(load(deep)).toThrow(/deeper than 16/);
    // A document nested far deeper is refused before validation walks it (the walk would overflow the stack).
    let abyss: unknown = { p: 0.5 };
    for (let i = 0; i < 20_000; i++) abyss = { p: 0.5, feature: 'orders', thresholds: [i], children: [{ p: 0 }, abyss] };
    expect(load(abyss)).toThrow(/the document is nested deeper than 40 levels \(a tree at most 16 deep\)/);
    expect(load({ p: 0.5 }, 'logistic')).toThrow(/a tree needs kind "propensity"/);
    expect(() => loadModel({ ...base, targets: { default: { intercept: 1, weights: {}, tree: { p: 0.5 } } } })).toThrow(/either intercept and weights \(logistic\) or tree, not both/);
  });
});
