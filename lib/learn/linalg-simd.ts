/**
 * The inner loops of linalg.ts's products, as WebAssembly functions using 128-bit SIMD: two rows
 * at once, and no bounds check per read. On CoIL 2000 (5,822 rows, 86 inputs) the Gram product
 * X'WX, most of a Newton iteration's time, takes about 3.9 ms here, 15 ms as the same blocked loop
 * in JavaScript, and 59 ms as the row-by-row loop the fit had before (CPU time, median of 15).
 *
 * The module is assembled below from named instructions (there is no WebAssembly toolchain in the
 * build). Each function works on one block of BLOCK_ROWS rows kept column by column (linalg.ts);
 * the block's rows past the matrix's last are zeros, so every block is read whole. `gram` is
 *
 *     for (j = 0; j < stride; j++) weighted[j][r] = w[r] · x[j][r]   // every row r
 *     for (j = 0; j < stride; j += 4)            // 4 columns of W X ...
 *       for (k = 0; k < j + 4; k += 2)           // ... against 2 columns of X
 *         for (a < 4, b < 2) sums[(j + a) * stride + k + b] += Σ_r weighted[j + a][r] · x[k + b][r]
 *
 * with the 8 sums of a 4 × 2 tile kept in registers, each as two lanes (even and odd rows) added at
 * the end: only the lower triangle (and the diagonal tiles whole). `dots` adds X'v, each column's
 * sum in two lanes the same way; `product` writes X v, each row's sum over the columns in order.
 */

const ROW_BYTES = 2048; // BLOCK_ROWS (256) doubles: one column of a block

/** Unsigned and signed LEB128, WebAssembly's integers. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

/** The instructions the kernel uses. */
const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  ltU: [0x49],
  f64Load: [0x2b, 3, 0],
  f64Store: [0x39, 3, 0],
  f64Add: [0xa0],
  v128Load: (offset: number) => [0xfd, 0x00, 4, ...uleb(offset)],
  v128Store: [0xfd, 0x0b, 4, 0],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f64x2Add: [0xfd, ...uleb(0xf0)],
  f64x2Mul: [0xfd, ...uleb(0xf2)],
  f64x2Splat: [0xfd, 0x14],
  lane: (i: number) => [0xfd, ...uleb(0x21), i],
};

/** A function body: its locals (6 i32, then 11 v128, after the parameters) and its code. */
function body(code: number[][]): number[] {
  const all = [...vec([[...uleb(6), I32], [...uleb(11), V128]]), ...code.flat(), ...op.end];
  return [...uleb(all.length), ...all];
}

// gram's parameters: byte offsets of the block of X, of the block's weights, of the block of W X
// (written here) and of the sums; the stride.
const [X, W, U, SUMS, STRIDE] = [0, 1, 2, 3, 4];

/**
 * The locals after a function's parameters: the loops' j, k and row byte offset r; the addresses
 * of a W X and an X column; a sum's address; then (v128) 8 sums, two X columns' pair of rows and
 * one W X column's.
 */
function locals(parameters: number) {
  const [J, K, R, A, C, O, ACC] = [0, 1, 2, 3, 4, 5, 6].map((i) => parameters + i) as [number, number, number, number, number, number, number];
  return { J, K, R, A, C, O, ACC, X0: ACC + 8, X1: ACC + 9, V: ACC + 10 };
}

function gramBody(): number[] {
  const { J, K, R, A, C, O, ACC, X0, X1, V } = locals(5);
  const code: number[][] = [];
  const emit = (...parts: number[][]) => code.push(...parts);
  // W X: for (j = 0; j < stride; j++) for (r = 0; r < ROW_BYTES; r += 16) u[j][r] = w[r] x[j][r]
  emit(op.i32(0), op.set(J), op.loop);
  emit(op.get(J), op.i32(ROW_BYTES), op.mul, op.set(A));
  emit(op.i32(0), op.set(R), op.loop);
  emit(op.get(U), op.get(A), op.add, op.get(R), op.add);
  emit(op.get(W), op.get(R), op.add, op.v128Load(0), op.get(X), op.get(A), op.add, op.get(R), op.add, op.v128Load(0), op.f64x2Mul, op.v128Store);
  emit(op.get(R), op.i32(16), op.add, op.tee(R), op.i32(ROW_BYTES), op.ltU, op.brIf(0), op.end);
  emit(op.get(J), op.i32(1), op.add, op.tee(J), op.get(STRIDE), op.ltU, op.brIf(0), op.end);
  // The 4 × 2 tiles of the lower triangle.
  emit(op.i32(0), op.set(J), op.loop);
  emit(op.i32(0), op.set(K), op.loop);
  for (let s = 0; s < 8; s++) emit(op.v128Zero, op.set(ACC + s));
  emit(op.get(U), op.get(J), op.i32(ROW_BYTES), op.mul, op.add, op.set(A));
  emit(op.get(X), op.get(K), op.i32(ROW_BYTES), op.mul, op.add, op.set(C));
  emit(op.i32(0), op.set(R), op.loop);
  emit(op.get(C), op.get(R), op.add, op.v128Load(0), op.set(X0));
  emit(op.get(C), op.get(R), op.add, op.v128Load(ROW_BYTES), op.set(X1));
  for (let a = 0; a < 4; a++) {
    emit(op.get(A), op.get(R), op.add, op.v128Load(a * ROW_BYTES), op.set(V));
    for (const [b, x] of [X0, X1].entries()) emit(op.get(ACC + 2 * a + b), op.get(V), op.get(x), op.f64x2Mul, op.f64x2Add, op.set(ACC + 2 * a + b));
  }
  emit(op.get(R), op.i32(16), op.add, op.tee(R), op.i32(ROW_BYTES), op.ltU, op.brIf(0), op.end);
  for (let a = 0; a < 4; a++) {
    for (let b = 0; b < 2; b++) {
      // sums[(j + a) * stride + k + b] += lane 0 + lane 1
      emit(op.get(SUMS), op.get(J), op.i32(a), op.add, op.get(STRIDE), op.mul, op.get(K), op.add, op.i32(b), op.add, op.i32(3), op.shl, op.add, op.set(O));
      emit(op.get(O), op.get(O), op.f64Load, op.get(ACC + 2 * a + b), op.lane(0), op.f64Add, op.get(ACC + 2 * a + b), op.lane(1), op.f64Add, op.f64Store);
    }
  }
  emit(op.get(K), op.i32(2), op.add, op.tee(K), op.get(J), op.i32(4), op.add, op.ltU, op.brIf(0), op.end);
  emit(op.get(J), op.i32(4), op.add, op.tee(J), op.get(STRIDE), op.ltU, op.brIf(0), op.end);
  return body(code);
}

// dots's parameters: byte offsets of the block of X, of the block's values v and of the sums; the
// stride. It adds Σ_r x[j][r] v[r] to sums[j] for every column j: the block's share of X'v.
const [VALUES, OUT, DOTS_STRIDE] = [1, 2, 3];

function dotsBody(): number[] {
  const { J, R, C, O, ACC } = locals(4);
  const code: number[][] = [];
  const emit = (...parts: number[][]) => code.push(...parts);
  emit(op.i32(0), op.set(J), op.loop);
  emit(op.v128Zero, op.set(ACC));
  emit(op.get(X), op.get(J), op.i32(ROW_BYTES), op.mul, op.add, op.set(C));
  emit(op.i32(0), op.set(R), op.loop);
  emit(op.get(ACC), op.get(C), op.get(R), op.add, op.v128Load(0), op.get(VALUES), op.get(R), op.add, op.v128Load(0), op.f64x2Mul, op.f64x2Add, op.set(ACC));
  emit(op.get(R), op.i32(16), op.add, op.tee(R), op.i32(ROW_BYTES), op.ltU, op.brIf(0), op.end);
  emit(op.get(OUT), op.get(J), op.i32(3), op.shl, op.add, op.set(O));
  emit(op.get(O), op.get(O), op.f64Load, op.get(ACC), op.lane(0), op.f64Add, op.get(ACC), op.lane(1), op.f64Add, op.f64Store);
  emit(op.get(J), op.i32(1), op.add, op.tee(J), op.get(DOTS_STRIDE), op.ltU, op.brIf(0), op.end);
  return body(code);
}

// product's parameters: byte offsets of the block of X, of the coefficients v and of the block's
// out (BLOCK_ROWS values); the number of columns. It writes X v for the block's rows, each row's sum
// taken column by column in order.
const [COEFFICIENTS, PRODUCT, COLUMNS] = [1, 2, 3];

function productBody(): number[] {
  const { J, R, C, ACC } = locals(4);
  const code: number[][] = [];
  const emit = (...parts: number[][]) => code.push(...parts);
  emit(op.i32(0), op.set(R), op.loop);
  emit(op.v128Zero, op.set(ACC), op.get(X), op.get(R), op.add, op.set(C), op.i32(0), op.set(J), op.loop);
  emit(op.get(ACC), op.get(C), op.v128Load(0), op.get(COEFFICIENTS), op.get(J), op.i32(3), op.shl, op.add, op.f64Load, op.f64x2Splat, op.f64x2Mul, op.f64x2Add, op.set(ACC));
  emit(op.get(C), op.i32(ROW_BYTES), op.add, op.set(C));
  emit(op.get(J), op.i32(1), op.add, op.tee(J), op.get(COLUMNS), op.ltU, op.brIf(0), op.end);
  emit(op.get(PRODUCT), op.get(R), op.add, op.get(ACC), op.v128Store);
  emit(op.get(R), op.i32(16), op.add, op.tee(R), op.i32(ROW_BYTES), op.ltU, op.brIf(0), op.end);
  return body(code);
}

function kernelModule(): Uint8Array {
  const params = (n: number) => [0x60, ...vec(new Array<number[]>(n).fill([I32])), 0x00];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([params(5), params(4)])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0x00], [0x01], [0x01]])),
    ...section(7, vec([[...name('gram'), 0x00, 0x00], [...name('dots'), 0x00, 0x01], [...name('product'), 0x00, 0x02]])),
    ...section(10, vec([gramBody(), dotsBody(), productBody()])),
  ]);
}

/** The WebAssembly API this file uses: Node has it, but the project's `lib` (no DOM) has no types for it. */
interface WasmMemory {
  buffer: ArrayBuffer;
}
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

let compiled: object | undefined;

/** Kernels on one block of X kept column by column (linalg.ts); arguments are byte offsets into the memory, 16-byte aligned. */
export interface Kernels {
  /** Writes the block's W X (row r's values times weights[r]) to `weighted`, and adds its lower triangle of X'WX to `sums` (stride × stride). */
  gram(block: number, weights: number, weighted: number, sums: number, stride: number): void;
  /** Adds the block's X'v to `sums` (one per column, stride of them). */
  dots(block: number, values: number, sums: number, stride: number): void;
  /** Writes the block's X v (BLOCK_ROWS values) to `out`. */
  product(block: number, coefficients: number, out: number, columns: number): void;
}

/** A WebAssembly memory (32-bit addresses) holds at most 4 GiB: about 500 million values. */
export const MAX_BYTES = 2 ** 32;

/** A zeroed memory of at least `bytes` bytes (at most MAX_BYTES), and the kernels working in it. */
export function kernelMemory(bytes: number): { buffer: ArrayBuffer; kernels: Kernels } {
  compiled ??= new WebAssembly.Module(kernelModule());
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  return { buffer: memory.buffer, kernels: instance.exports as unknown as Kernels };
}
