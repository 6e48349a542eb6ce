/**
 * k-means audience clusters: features standardised (so a revenue in pounds does not drown a count
 * of visits), k-means++ seeding from a seeded generator, then Lloyd's iterations until no customer
 * changes cluster. Deterministic for a seed; centroids are reported in the features' own units.
 */
import { createRandom } from './metrics';

export interface KMeansOptions {
  k: number;
  seed?: number;
  /** Default 100. */
  maxIterations?: number;
}

export interface Clustering {
  /** The cluster of each row, 0..k-1, numbered by descending size. */
  assignments: Int32Array;
  /** Each cluster's mean, in the features' units. */
  centroids: number[][];
  /** Each feature's mean and standard deviation (1 where it has none): how rows are standardised. */
  means: number[];
  scales: number[];
  sizes: number[];
  /** Sum of squared standardised distances to the assigned centroid. */
  inertia: number;
  iterations: number;
}

export function kMeans(rows: readonly (readonly number[])[], options: KMeansOptions): Clustering {
  const k = Math.min(options.k, rows.length);
  if (!(Number.isInteger(options.k) && options.k >= 1)) throw new RangeError(`k must be a whole number from 1, not ${options.k}`);
  if (rows.length === 0) return { assignments: new Int32Array(0), centroids: [], means: [], scales: [], sizes: [], inertia: 0, iterations: 0 };
  const { scaled, means, scales } = standardise(rows);
  let centroids = seedCentroids(scaled, k, createRandom(options.seed ?? 1));
  const assignments = new Int32Array(rows.length).fill(-1);
  let iterations = 0;
  for (; iterations < (options.maxIterations ?? 100); iterations++) {
    if (!assign(scaled, centroids, assignments)) break;
    centroids = recentre(scaled, assignments, centroids);
  }
  return ordered(scaled, assignments, centroids, means, scales, iterations);
}

function standardise(rows: readonly (readonly number[])[]) {
  const d = rows[0]?.length ?? 0;
  const means = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / rows.length);
  const scales = means.map((m, j) => Math.sqrt(rows.reduce((s, r) => s + ((r[j] as number) - m) ** 2, 0) / rows.length) || 1);
  const scaled = rows.map((r) => r.map((v, j) => (v - (means[j] as number)) / (scales[j] as number)));
  return { scaled, means, scales };
}

const distance2 = (a: readonly number[], b: readonly number[]): number => a.reduce((s, v, j) => s + (v - (b[j] as number)) ** 2, 0);

/** k-means++: the first centre at random, each next one with probability proportional to its squared distance from the nearest centre. */
function seedCentroids(points: number[][], k: number, random: () => number): number[][] {
  const centres = [points[Math.floor(random() * points.length)] as number[]];
  const nearest = points.map((p) => distance2(p, centres[0] as number[]));
  while (centres.length < k) {
    const total = nearest.reduce((s, v) => s + v, 0);
    let at = random() * total;
    let chosen = points.findIndex((_, i) => (at -= nearest[i] as number) < 0);
    if (chosen < 0 || total === 0) chosen = centres.length % points.length;
    const centre = points[chosen] as number[];
    centres.push(centre);
    points.forEach((p, i) => (nearest[i] = Math.min(nearest[i] as number, distance2(p, centre))));
  }
  return centres.map((c) => [...c]);
}

/** Each point to its nearest centroid; whether any changed. */
function assign(points: number[][], centroids: number[][], assignments: Int32Array): boolean {
  let changed = false;
  points.forEach((p, i) => {
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    centroids.forEach((c, j) => {
      const d = distance2(p, c);
      if (d < bestD) [best, bestD] = [j, d];
    });
    if (assignments[i] !== best) [assignments[i], changed] = [best, true];
  });
  return changed;
}

/** Each centroid the mean of its points (an empty cluster keeps its centroid). */
function recentre(points: number[][], assignments: Int32Array, previous: number[][]): number[][] {
  const sums = previous.map((c) => c.map(() => 0));
  const counts = previous.map(() => 0);
  points.forEach((p, i) => {
    const j = assignments[i] as number;
    counts[j] = (counts[j] as number) + 1;
    p.forEach((v, d) => ((sums[j] as number[])[d] = ((sums[j] as number[])[d] as number) + v));
  });
  return sums.map((s, j) => ((counts[j] as number) === 0 ? (previous[j] as number[]) : s.map((v) => v / (counts[j] as number))));
}

/** Clusters renumbered by descending size (then by first row), centroids back in the features' units. */
function ordered(scaled: number[][], assignments: Int32Array, centroids: number[][], means: number[], scales: number[], iterations: number): Clustering {
  const sizes = centroids.map((_, j) => assignments.filter((a) => a === j).length);
  const first = centroids.map((_, j) => assignments.indexOf(j));
  const order = centroids.map((_, j) => j).sort((a, b) => (sizes[b] as number) - (sizes[a] as number) || (first[a] as number) - (first[b] as number));
  const renumber = new Int32Array(centroids.length);
  order.forEach((j, rank) => (renumber[j] = rank));
  const inertia = scaled.reduce((s, p, i) => s + distance2(p, centroids[assignments[i] as number] as number[]), 0);
  return {
    assignments: assignments.map((a) => renumber[a] as number),
    centroids: order.map((j) => (centroids[j] as number[]).map((v, d) => v * (scales[d] as number) + (means[d] as number))),
    means,
    scales,
    sizes: order.map((j) => sizes[j] as number),
    inertia,
    iterations,
  };
}

/** The cluster nearest to a row (standardised as the clustering's rows were): how customers outside the rows fitted on are assigned. */
export function nearestCluster(clustering: Pick<Clustering, 'centroids' | 'means' | 'scales'>, row: readonly number[]): number {
  const standard = (r: readonly number[]) => r.map((v, d) => (v - (clustering.means[d] as number)) / (clustering.scales[d] as number));
  const point = standard(row);
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  clustering.centroids.forEach((c, j) => {
    const d = distance2(point, standard(c));
    if (d < bestD) [best, bestD] = [j, d];
  });
  return best;
}
