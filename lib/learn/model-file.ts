/**
 * A model trained by `moment train`, saved in the artifact format the decision function scores
 * (lib/decision/model.ts) and scored from it again by `moment score`.
 *
 * - Each column of the training file is a profile trait: column `age` is `traits.age` (characters
 *   other than letters, digits and _ become _). The artifact's one target, `default`, is the model.
 * - A logistic regression's terms become features in the order it adds them: a number (its default
 *   the training mean, for a missing value), a level's 0/1 (`equals`), a missing indicator
 *   (`missing`). A CHAID tree's splits become the artifact's threshold splits: before each numeric
 *   split, a split on the column's missing indicator (a missing value goes where CHAID sent it, or
 *   stops at the node); a categorical split becomes a chain of 0/1 splits, one per group of levels
 *   (`oneOf`), ending at the node's own score for a level the tree never saw.
 * - `scoreFile` builds each row's traits from the CSV (a missing categorical cell is the level
 *   `(missing)`, as training read it) and scores them with `loadModel`, the decision function's own
 *   code: the scores equal `moment train --scores` to the last bit (a test holds it to that).
 */
import { loadModel, type ModelConfig, type TreeNodeConfig } from '../decision/model';
import type { CategoricalSplit, NumericSplit, TreeNode } from './chaid';
import { columnIndex as columnIndexOf, missingTest, MISSING_LEVEL, MISSING_TOKENS, numberAt as numberCell, type CsvTable, type Schema } from './csv';
import { LearnInputError } from './errors';
import { indicatorOf } from './impute';
import type { FittedModel } from './train';

type Feature = ModelConfig['features'][number];

/** A column's trait key. */
export const traitKey = (column: string): string => column.replace(/[^A-Za-z0-9_]/g, '_');

/** Feature names: identifiers, unique. */
class Names {
  private readonly used = new Set<string>();
  name(base: string): string {
    let name = /^[A-Za-z]/.test(base) ? base : `f_${base}`;
    name = name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60);
    for (let k = 2; this.used.has(name); k++) name = `${name.replace(/_\d+$/, '')}_${k}`;
    this.used.add(name);
    return name;
  }
}

export interface SavedModelMeta {
  version: string;
  trainedAt: string;
  /** Said in the artifact's $comment. */
  trainedOn: string;
}

/** The artifact of a model trained on CSV columns. Errors say what the artifact cannot hold. */
export function modelArtifact(model: FittedModel, schema: Schema, meta: SavedModelMeta): ModelConfig {
  const keys = new Map<string, string>();
  for (const c of schema.columns) {
    const key = traitKey(c.name);
    const other = [...keys].find(([, k]) => k === key)?.[0];
    if (other !== undefined) throw new Error(`columns "${other}" and "${c.name}" are both the trait "${key}" in an artifact; rename one`);
    keys.set(c.name, key);
  }
  const fill = (column: string) => (model.kind === 'logistic' ? (model.imputation.find((m) => m.column === column)?.fill ?? 0) : 0);
  const features: Feature[] = [];
  const names = new Names();
  const feature = (column: string, extra: Partial<Feature>, base: string): string => {
    const name = names.name(base);
    features.push({ name, path: `traits.${keys.get(column) as string}`, transform: 'none', default: 0, ...extra });
    return name;
  };
  const comment = `moment train on ${meta.trainedOn}, target ${schema.target}: traits.<column> holds a row's value (a missing category the text "${MISSING_LEVEL}")`;
  const head = { $comment: comment, version: meta.version, trainedAt: meta.trainedAt, kind: 'propensity' as const, missing: [...(schema.missing ?? MISSING_TOKENS)] };
  if (model.kind === 'logistic') {
    const weights: Record<string, number> = {};
    const indicators = new Map(model.imputation.filter((m) => m.indicator).map((m) => [indicatorOf(m.column), m.column]));
    for (const w of model.weights) {
      if (w.weight === 0) continue;
      const of = indicators.get(w.column);
      const name =
        of !== undefined && !keys.has(w.column)
          ? feature(of, { missing: true }, `${traitKey(of)}_missing`)
          : w.level !== undefined
            ? feature(w.column, { equals: w.level }, `${traitKey(w.column)}_is_${w.level}`)
            : feature(w.column, { default: fill(w.column) }, traitKey(w.column));
      weights[name] = w.weight;
    }
    return { ...head, features, targets: { default: { intercept: model.intercept, weights } } };
  }
  const featureOf = new Map<string, string>();
  const once = (key: string, make: () => string) => featureOf.get(key) ?? (featureOf.set(key, make()), featureOf.get(key) as string);
  const numericNode = (node: TreeNode, split: NumericSplit): TreeNodeConfig => {
    const value = once(`n:${split.column}`, () => feature(split.column, {}, traitKey(split.column)));
    const missing = once(`m:${split.column}`, () => feature(split.column, { missing: true }, `${traitKey(split.column)}_missing`));
    const bins = split.thresholds.length + 1;
    // All the values in one bin, the missing ones in another: the split is on the indicator alone.
    const inner: TreeNodeConfig = bins === 1 ? convert(split.children[0] as TreeNode) : { p: node.score, feature: value, thresholds: split.thresholds, children: split.children.slice(0, bins).map(convert) };
    const whenMissing = split.missing === undefined ? { p: node.score } : convert(split.children[split.missing] as TreeNode);
    return { p: node.score, feature: missing, thresholds: [0.5], children: [inner, whenMissing] };
  };
  const categoricalNode = (node: TreeNode, split: CategoricalSplit): TreeNodeConfig => {
    let chain: TreeNodeConfig = { p: node.score };
    for (let k = split.groups.length - 1; k >= 0; k--) {
      const levels = split.groups[k] as string[];
      const name = once(`g:${split.column}:${JSON.stringify(levels)}`, () => feature(split.column, { oneOf: levels }, `${traitKey(split.column)}_in_group`));
      chain = { p: node.score, feature: name, thresholds: [0.5], children: [chain, convert(split.children[k] as TreeNode)] };
    }
    return chain;
  };
  const convert = (node: TreeNode): TreeNodeConfig => (node.split === undefined ? { p: node.score } : node.split.type === 'numeric' ? numericNode(node, node.split) : categoricalNode(node, node.split));
  return { ...head, features, targets: { default: { tree: convert(model.root) } } };
}

/** The columns an artifact's features read, by trait key, and whether each is categorical. */
function columnsOf(artifact: ModelConfig): Map<string, { categorical: boolean }> {
  const columns = new Map<string, { categorical: boolean }>();
  for (const f of artifact.features) {
    const key = f.path.startsWith('traits.') ? f.path.slice('traits.'.length) : undefined;
    if (key === undefined || key.includes('.')) throw new Error(`feature "${f.name}" reads ${f.path}: not a column of a file (a model saved by moment train reads traits.<column>)`);
    const categorical = f.equals !== undefined || f.oneOf !== undefined;
    columns.set(key, { categorical: categorical || (columns.get(key)?.categorical ?? false) });
  }
  return columns;
}

export interface ScoreOptions {
  /** The cells read as missing. Default: the artifact's own (`missing`, the training file's), else MISSING_TOKENS. */
  missing?: readonly string[];
}

/** Each row's score by the artifact's `default` target, through the decision function's code. */
export function scoreFile(document: unknown, table: CsvTable, options: ScoreOptions = {}): Float64Array {
  const model = loadModel(document);
  const target = model.target('default');
  if (target === undefined) throw new Error('the artifact has no "default" target (a model saved by moment train has one)');
  const columns = columnsOf(document as ModelConfig);
  const isMissing = missingTest(options.missing ?? (document as ModelConfig).missing);
  const fields = new Map<string, number>();
  table.header.forEach((name, field) => {
    const key = traitKey(name);
    if (!columns.has(key)) return;
    const other = fields.get(key);
    // Two columns that are one trait (`home region` and `home_region`): which one the model read is not known, so neither is guessed.
    if (other !== undefined) throw new LearnInputError(table.file, 1, `columns "${table.header[other]}" and "${name}" are both the model's trait "${key}"; remove or rename one`, 1);
    fields.set(key, field);
  });
  for (const key of columns.keys()) if (!fields.has(key)) columnIndexOf(table, key, 'the model reads it');
  const scores = new Float64Array(table.rows.length);
  for (let r = 0; r < table.rows.length; r++) {
    const traits: Record<string, unknown> = {};
    for (const [key, { categorical }] of columns) {
      const field = fields.get(key) as number;
      const cell = (table.rows[r] as string[])[field] as string;
      if (isMissing(cell)) {
        if (categorical) traits[key] = MISSING_LEVEL;
        continue;
      }
      traits[key] = categorical ? cell.trim() : numberCell(table, r, field);
    }
    scores[r] = target({ traits, aggregates: {}, derived: {}, batch: {}, stage: '' });
  }
  return scores;
}

