/**
 * The dense linear algebra the logistic regression's Newton steps need: a design matrix stored so
 * that its columns are read contiguously, its products with a vector and with its transpose, the
 * weighted Gram product X'WX (the Hessian, most of an iteration's time), and a Cholesky solve.
 *
 * The matrix is kept in blocks of `BLOCK_ROWS` rows, each block column by column, with the columns
 * padded with zeros to a multiple of 4 (and the last block's rows padded with zeros too). A block of
 * one column's values is then a contiguous run, and a block of all columns (256 rows × 88 columns ×
 * 8 bytes, 180 KB) stays in the core's cache while the Gram product reads it about 20 times over.
 * The Gram product computes its entries 4 × 2 at a time, each a sum over the block's rows kept in a
 * register (6 columns read for 8 products, instead of reading and writing an entry per product),
 * only the lower triangle, in WebAssembly SIMD (linalg-simd.ts), which is why the matrix lives in a
 * WebAssembly memory.
 */
import { kernelMemory, MAX_BYTES, type Kernels } from './linalg-simd';

/** Rows per block. */
export const BLOCK_ROWS = 256;

export interface BlockedMatrix {
  rows: number;
  columns: number;
  /** The columns a block holds: `columns` rounded up to a multiple of 4. */
  stride: number;
  blocks: number;
  /** Block b, column j, row r of the block at b·BLOCK_ROWS·stride + j·BLOCK_ROWS + r. */
  data: Float64Array;
  /**
   * Working space beside `data` in the kernels' memory, for one product at a time: a value per row
   * (the weights, X'v's v, or X v), one block of W X, and stride × stride sums (X'WX, X'v, or X v's v).
   */
  perRow: Float64Array;
  weighted: Float64Array;
  sums: Float64Array;
  kernels: Kernels;
}

/** A zero matrix, in a WebAssembly memory of its own: [sums | weighted | perRow | data]. */
export function blockedMatrix(rows: number, columns: number): BlockedMatrix {
  const stride = Math.ceil(columns / 4) * 4;
  const blocks = Math.ceil(rows / BLOCK_ROWS);
  const lengths = [stride * stride, BLOCK_ROWS * stride, blocks * BLOCK_ROWS, blocks * BLOCK_ROWS * stride];
  const bytes = 8 * lengths.reduce((sum, n) => sum + n, 0);
  if (bytes > MAX_BYTES) throw new RangeError(`${rows} rows × ${columns} inputs are too many to fit at once (${(bytes / 2 ** 30).toFixed(1)} GiB, at most ${MAX_BYTES / 2 ** 30}): sample the rows`);
  const { buffer, kernels } = kernelMemory(bytes);
  let offset = 0;
  const [sums, weighted, perRow, data] = lengths.map((n) => new Float64Array(buffer, 8 * (offset += n) - 8 * n, n)) as [Float64Array, Float64Array, Float64Array, Float64Array];
  return { rows, columns, stride, blocks, data, perRow, weighted, sums, kernels };
}

/** Sets column `column` to `values` (one per row). */
export function setColumn(m: BlockedMatrix, column: number, values: Float64Array): void {
  for (let b = 0; b < m.blocks; b++) {
    const first = b * BLOCK_ROWS;
    m.data.set(values.subarray(first, Math.min(first + BLOCK_ROWS, m.rows)), (b * m.stride + column) * BLOCK_ROWS);
  }
}

/** out = X v (one value per row). */
export function multiply(m: BlockedMatrix, v: Float64Array, out: Float64Array): Float64Array {
  const { data, perRow, sums, kernels } = m;
  sums.set(v.subarray(0, m.columns));
  for (let b = 0; b < m.blocks; b++) {
    kernels.product(data.byteOffset + 8 * b * BLOCK_ROWS * m.stride, sums.byteOffset, perRow.byteOffset + 8 * b * BLOCK_ROWS, m.columns);
  }
  out.set(perRow.subarray(0, m.rows));
  return out;
}

/** out = X' v (one value per column). */
export function multiplyTransposed(m: BlockedMatrix, v: Float64Array, out: Float64Array): Float64Array {
  const { data, perRow, sums, kernels } = m;
  perRow.set(v.subarray(0, m.rows));
  sums.fill(0);
  for (let b = 0; b < m.blocks; b++) {
    kernels.dots(data.byteOffset + 8 * b * BLOCK_ROWS * m.stride, perRow.byteOffset + 8 * b * BLOCK_ROWS, sums.byteOffset, m.stride);
  }
  for (let j = 0; j < m.columns; j++) out[j] = sums[j] as number;
  return out;
}

/** out (columns × columns, row-major, both triangles) = X' diag(w) X. */
export function weightedGram(m: BlockedMatrix, w: Float64Array, out: Float64Array): Float64Array {
  const { data, stride, perRow, weighted, sums, kernels } = m;
  perRow.set(w.subarray(0, m.rows));
  sums.fill(0);
  for (let b = 0; b < m.blocks; b++) {
    kernels.gram(data.byteOffset + 8 * b * BLOCK_ROWS * stride, perRow.byteOffset + 8 * b * BLOCK_ROWS, weighted.byteOffset, sums.byteOffset, stride);
  }
  const p = m.columns;
  for (let j = 0; j < p; j++) {
    for (let k = 0; k <= j; k++) {
      const s = sums[j * stride + k] as number;
      out[j * p + k] = s;
      out[k * p + j] = s;
    }
  }
  return out;
}

/** Solves A s = b for a symmetric positive definite A (p × p, row-major) by Cholesky; A is overwritten. */
export function choleskySolve(a: Float64Array, b: Float64Array, p: number, out: Float64Array = new Float64Array(p)): Float64Array {
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j] as number;
    for (let k = 0; k < j; k++) d -= (a[j * p + k] as number) ** 2;
    if (!(d > 0)) throw new Error(`the matrix is not positive definite (pivot ${j})`);
    const l = Math.sqrt(d);
    a[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j] as number;
      for (let k = 0; k < j; k++) s -= (a[i * p + k] as number) * (a[j * p + k] as number);
      a[i * p + j] = s / l;
    }
  }
  const z = out;
  for (let i = 0; i < p; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (a[i * p + k] as number) * (z[k] as number);
    z[i] = s / (a[i * p + i] as number);
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < p; k++) s -= (a[k * p + i] as number) * (z[k] as number);
    z[i] = s / (a[i * p + i] as number);
  }
  return z;
}
