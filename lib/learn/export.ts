/**
 * A fitted propensity model as a target of the decision function's model artifact
 * (lib/decision/model.ts): a logistic regression as its intercept and weights, a CHAID tree as its
 * splits and leaf probabilities. The artifact's features are numbers (a one-hot feature is its own
 * 0/1 feature), so a model trained on the artifact's feature columns exports as it is; one with a
 * categorical column cannot, and says which.
 */
import type { TreeNodeConfig } from '../decision/model';
import type { TreeNode } from './chaid';
import type { FittedModel } from './train';

export type ArtifactTarget = { intercept: number; weights: Record<string, number> } | { tree: TreeNodeConfig };

export function artifactTarget(model: FittedModel): ArtifactTarget {
  if (model.kind === 'logistic') {
    const categorical = model.weights.find((w) => w.level !== undefined);
    if (categorical !== undefined) throw new Error(`column "${categorical.column}" is categorical: the artifact's features are numbers (give each level a 0/1 feature)`);
    return { intercept: model.intercept, weights: Object.fromEntries(model.weights.filter((w) => w.weight !== 0).map((w) => [w.column, w.weight])) };
  }
  return { tree: treeNode(model.root) };
}

function treeNode(node: TreeNode): TreeNodeConfig {
  const split = node.split;
  if (split === undefined) return { p: node.score };
  if (split.type !== 'numeric') throw new Error(`column "${split.column}" is categorical: the artifact's features are numbers (give each level a 0/1 feature)`);
  if (split.children.length !== split.thresholds.length + 1) throw new Error(`column "${split.column}" has missing values: the nightly artifact's features always have a value`);
  return { p: node.score, feature: split.column, thresholds: split.thresholds, children: split.children.map(treeNode) };
}
