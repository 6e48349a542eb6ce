/**
 * A fitted model as a person reads it: a logistic regression's coefficients with their odds ratios,
 * on each feature's own scale and per standard deviation (which features matter most); a CHAID tree
 * as its segments, the conditions that lead to each leaf with its size, buyer rate and lift (what a
 * marketer selects an audience by).
 */
import type { TreeNode } from './chaid';
import type { LogisticModel } from './logistic';
import type { FittedModel } from './train';

export interface Coefficient {
  column: string;
  /** For a categorical column: the level whose indicator this is. */
  level?: string;
  /** Log-odds per unit of the column (or for the level against none of the levels). */
  weight: number;
  /** exp(weight): how the odds multiply per unit (or with the level). */
  oddsRatio: number;
  /** Log-odds per standard deviation of the column (the level's weight for a level). */
  standardized: number;
  /** exp(standardized). */
  oddsRatioPerSd: number;
}

export interface Segment {
  /** The conditions that lead to the leaf, from the root, e.g. `age <= 40`, `40 < income <= 70`, `region in {north, west}`. */
  conditions: string[];
  rows: number;
  positives: number;
  /** Positives / rows in the training data. */
  rate: number;
  /** Rate / the base rate. */
  lift: number;
  /** The leaf's smoothed score, what a row that ends here is given. */
  score: number;
}

export type ModelDescription = { kind: 'logistic'; intercept: number; coefficients: Coefficient[] } | { kind: 'tree'; segments: Segment[] };

export function describeModel(model: FittedModel): ModelDescription {
  return model.kind === 'logistic' ? { kind: 'logistic', intercept: model.intercept, coefficients: coefficients(model) } : { kind: 'tree', segments: segments(model.root) };
}

/** The coefficients, the largest effect per standard deviation first. */
function coefficients(model: LogisticModel): Coefficient[] {
  return model.weights
    .map((w) => ({ column: w.column, ...(w.level !== undefined ? { level: w.level } : {}), weight: w.weight, oddsRatio: Math.exp(w.weight), standardized: w.standardized, oddsRatioPerSd: Math.exp(w.standardized) }))
    .sort((a, b) => Math.abs(b.standardized) - Math.abs(a.standardized) || (a.column < b.column ? -1 : a.column > b.column ? 1 : 0));
}

/** The tree's leaves as segments, the highest lift first. */
function segments(root: TreeNode): Segment[] {
  const base = root.positives / Math.max(1, root.rows);
  const out: Segment[] = [];
  const walk = (node: TreeNode, conditions: string[]) => {
    const split = node.split;
    if (split === undefined) {
      const rate = node.rows === 0 ? 0 : node.positives / node.rows;
      out.push({ conditions, rows: node.rows, positives: node.positives, rate, lift: base === 0 ? 0 : rate / base, score: node.score });
      return;
    }
    split.children.forEach((child, i) => {
      let condition: string;
      if (split.type === 'categorical') condition = `${split.column} in {${(split.groups[i] ?? []).join(', ')}}`;
      else if (i > split.thresholds.length) condition = `${split.column} is missing`;
      else {
        const lo = split.thresholds[i - 1];
        const hi = split.thresholds[i];
        condition = hi === undefined ? `${split.column} > ${lo}` : lo === undefined ? `${split.column} <= ${hi}` : `${lo} < ${split.column} <= ${hi}`;
        if (split.missing === i) condition = `${condition} or ${split.column} is missing`;
      }
      walk(child, [...conditions, condition]);
    });
  };
  walk(root, []);
  return out.sort((a, b) => b.lift - a.lift || b.rows - a.rows);
}
