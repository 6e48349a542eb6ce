/**
 * Training tables for `moment train`: a CSV file (read by lib/learn/csv-table.ts) into a data set
 * the models consume — one column per predictor, each numeric or categorical, and a 0/1 target.
 * Errors name the file, the line and the column, and say which field is wrong.
 */
import { LearnInputError } from './errors';
import type { CsvTable } from './csv-table';

export { LearnInputError };
export { parseCsv, type CsvTable } from './csv-table';

export type ColumnType = 'numeric' | 'categorical';

/** The level a categorical column takes where its cell is empty. */
export const MISSING_LEVEL = '(missing)';

/** A numeric predictor; a missing cell is NaN (each model fills it from its own training rows: lib/learn/impute.ts, CHAID's floating category). */
export interface NumericColumn {
  name: string;
  type: 'numeric';
  values: Float64Array;
}

/** A categorical predictor: an index into `levels` per row, -1 for a level training never saw. */
export interface CategoricalColumn {
  name: string;
  type: 'categorical';
  levels: readonly string[];
  codes: Int32Array;
}

export type Column = NumericColumn | CategoricalColumn;

/** What training learned about a column, so that a second file is encoded the same way (`mean`: of the training file's values, for reports). */
export type ColumnSchema = { name: string; type: 'numeric'; mean: number } | { name: string; type: 'categorical'; levels: string[] };

export interface Schema {
  target: string;
  columns: ColumnSchema[];
  /** The cells read as missing (trimmed, exact case); default MISSING_TOKENS. */
  missing?: readonly string[];
}

/** Predictors, column by column, in the order of the schema. What the models fit and score. */
export interface Features {
  rows: number;
  columns: Column[];
}

/** A training set: the predictors, the 0/1 target and the schema to encode other files with. */
export interface Dataset extends Features {
  file: string;
  schema: Schema;
  y: Uint8Array;
  positives: number;
}

/** A second file encoded with a training schema; `y` only where the file has the target column. */
export interface EncodedFile extends Features {
  file: string;
  y?: Uint8Array;
}

export interface DatasetOptions {
  /** The 0/1 column to predict. Default: the last column. */
  target?: string;
  /** Column types where detection is not wanted (a numeric code that names a category, say). */
  types?: Record<string, ColumnType>;
  /** The file named in errors. Default: the table's. */
  file?: string;
  /** The cells read as missing, trimmed, exact case. Default MISSING_TOKENS. */
  missing?: readonly string[];
}

/**
 * What a cell says when a value is missing, by default: the empty cell and pandas' default NA
 * strings (what `read_csv` reads as NaN), so `NA` in an age column leaves it numeric.
 */
export const MISSING_TOKENS: readonly string[] = ['', 'NA', 'N/A', 'n/a', '#N/A', '#N/A N/A', '#NA', '<NA>', 'NaN', 'nan', '-NaN', '-nan', 'NULL', 'null', 'None', '1.#IND', '-1.#IND', '1.#QNAN', '-1.#QNAN'];

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Whether a cell is missing, for a set of tokens. */
type Missing = (cell: string) => boolean;
/** Whether a cell is missing for these tokens (default MISSING_TOKENS): build it once, ask it per cell. */
export const missingTest = (tokens: readonly string[] = MISSING_TOKENS): Missing => {
  const set = new Set(tokens.map((t) => t.trim()));
  return (cell) => set.has(cell.trim());
};

const asNumber = (cell: string): number | undefined => {
  const x = NUMBER.test(cell.trim()) ? Number(cell.trim()) : Number.NaN;
  return Number.isFinite(x) ? x : undefined;
};

/** More levels than this and a categorical column is more likely an id than a behaviour (and would make the models crawl). */
export const MAX_LEVELS = 200;

function fail(table: CsvTable, row: number, field: number, reason: string): never {
  const at = table.locate(row, field);
  throw new LearnInputError(table.file, at.line, reason, at.column);
}

function someColumns(header: string[]): string {
  const shown = header.slice(0, 8).map((h) => `"${h}"`).join(', ');
  return header.length > 8 ? `${shown} and ${header.length - 8} more` : shown;
}

export function columnIndex(table: CsvTable, name: string, what: string): number {
  const i = table.header.indexOf(name);
  if (i < 0) throw new LearnInputError(table.file, 1, `no column "${name}" (${what}); the header has ${someColumns(table.header)}`, 1);
  return i;
}

/** Reads the 0/1 target; errors at the first other value. */
function readTarget(table: CsvTable, field: number): Uint8Array {
  const name = table.header[field] as string;
  const y = new Uint8Array(table.rows.length);
  table.rows.forEach((row, r) => {
    const cell = (row[field] as string).trim();
    if (cell !== '0' && cell !== '1') fail(table, r, field, `the target "${name}" (column ${field + 1}) must be 0 or 1, not ${cell === '' ? 'empty' : `"${cell}"`}`);
    y[r] = cell === '1' ? 1 : 0;
  });
  return y;
}

/** A column's cells read as numbers once: NaN where missing; `bad`, the first row that is neither (-1 when none). */
interface NumberCells {
  values: Float64Array;
  bad: number;
  present: number;
}

function numberCells(table: CsvTable, field: number, isMissing: Missing): NumberCells {
  const n = table.rows.length;
  const values = new Float64Array(n);
  let bad = -1;
  let present = 0;
  for (let r = 0; r < n; r++) {
    const cell = (table.rows[r] as string[])[field] as string;
    if (isMissing(cell)) {
      values[r] = Number.NaN;
      continue;
    }
    const x = asNumber(cell);
    if (x === undefined) {
      if (bad < 0) bad = r;
      values[r] = Number.NaN;
      continue;
    }
    values[r] = x;
    present++;
  }
  return { values, bad, present };
}

/** Numeric when every non-empty cell is a finite number and there is at least one. */
function detectType(cells: NumberCells): ColumnType {
  return cells.bad < 0 && cells.present > 0 ? 'numeric' : 'categorical';
}

/** Numbers in numeric order first, then other levels alphabetically, `(missing)` last. */
function compareLevels(a: string, b: string): number {
  if (a === MISSING_LEVEL || b === MISSING_LEVEL) return a === b ? 0 : a === MISSING_LEVEL ? 1 : -1;
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined && x !== y) return x - y;
  if (x !== undefined && y === undefined) return -1;
  if (x === undefined && y !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const levelOf = (cell: string, isMissing: Missing) => (isMissing(cell) ? MISSING_LEVEL : cell.trim());

/** The mean of a numeric column, or the levels of a categorical one, from the training rows. */
function learnColumn(table: CsvTable, field: number, type: ColumnType, isMissing: Missing, cells: () => NumberCells): ColumnSchema {
  const name = table.header[field] as string;
  if (type === 'categorical') {
    const levels = [...new Set(table.rows.map((row) => levelOf(row[field] as string, isMissing)))].sort(compareLevels);
    if (levels.length > MAX_LEVELS) {
      throw new LearnInputError(table.file, 1, `column "${name}" has ${levels.length} categories (at most ${MAX_LEVELS}): an id, or a number read as text? Remove it, or give it --numeric`, 1);
    }
    return { name, type, levels };
  }
  const { values, bad, present } = cells();
  if (bad >= 0) numberAt(table, bad, field);
  if (present === 0) throw new LearnInputError(table.file, 1, `column "${name}" is declared numeric but has no values`, 1);
  let sum = 0;
  for (const x of values) if (!Number.isNaN(x)) sum += x;
  return { name, type, mean: sum / present };
}

export function numberAt(table: CsvTable, row: number, field: number): number {
  const cell = (table.rows[row] as string[])[field] as string;
  const x = asNumber(cell);
  if (x === undefined || !Number.isFinite(x)) fail(table, row, field, `"${cell.trim()}" in numeric column "${table.header[field]}" (column ${field + 1}) is not a number`);
  return x;
}

/** One column of `table` encoded as `schema` says: missing numbers NaN, missing levels `(missing)`. */
function encodeColumn(table: CsvTable, field: number, schema: ColumnSchema, isMissing: Missing, cells?: NumberCells): Column {
  const n = table.rows.length;
  if (schema.type === 'numeric') {
    const { values, bad } = cells ?? numberCells(table, field, isMissing);
    if (bad >= 0) numberAt(table, bad, field);
    return { name: schema.name, type: 'numeric', values };
  }
  const index = new Map(schema.levels.map((level, i) => [level, i]));
  const codes = new Int32Array(n);
  for (let r = 0; r < n; r++) codes[r] = index.get(levelOf((table.rows[r] as string[])[field] as string, isMissing)) ?? -1;
  return { name: schema.name, type: 'categorical', levels: schema.levels, codes };
}

/**
 * A training set from a parsed table: the target (default: the last column) must be 0/1 with both
 * values present; every other column is a predictor, numeric when all its non-empty cells are
 * numbers, else categorical, unless `types` says otherwise.
 */
export function dataset(table: CsvTable, options: DatasetOptions = {}): Dataset {
  const named: CsvTable = options.file ? { ...table, file: options.file } : table;
  const target = options.target ?? (named.header[named.header.length - 1] as string);
  const targetField = columnIndex(named, target, 'the target');
  for (const name of Object.keys(options.types ?? {})) columnIndex(named, name, 'given a type');
  if (named.rows.length === 0) throw new LearnInputError(named.file, 1, 'no data rows after the header');
  const y = readTarget(named, targetField);
  const positives = y.reduce((sum, v) => sum + v, 0);
  if (positives === 0 || positives === y.length) {
    throw new LearnInputError(named.file, 1, `the target "${target}" is ${positives === 0 ? 0 : 1} on every row; a model needs both 0s and 1s`, 1);
  }
  const isMissing = missingTest(options.missing);
  // Each column's cells are read as numbers once, for its type, its mean and its values.
  const parsed = new Map<number, NumberCells>();
  const cellsOf = (field: number) => parsed.get(field) ?? (parsed.set(field, numberCells(named, field, isMissing)), parsed.get(field) as NumberCells);
  const columns: ColumnSchema[] = [];
  named.header.forEach((name, field) => {
    if (field !== targetField) columns.push(learnColumn(named, field, options.types?.[name] ?? detectType(cellsOf(field)), isMissing, () => cellsOf(field)));
  });
  const schema: Schema = { target, columns, ...(options.missing ? { missing: [...options.missing] } : {}) };
  return { ...encodeWith(named, schema, (field) => parsed.get(field)), file: named.file, schema, y, positives };
}

/**
 * Encodes a second file (a test set, or customers to score) with a training schema. Columns are
 * found by name, in any order; extra columns are ignored; the target column may be absent.
 */
export function encode(table: CsvTable, schema: Schema): EncodedFile {
  return encodeWith(table, schema, () => undefined);
}

function encodeWith(table: CsvTable, schema: Schema, parsed: (field: number) => NumberCells | undefined): EncodedFile {
  const isMissing = missingTest(schema.missing);
  const columns = schema.columns.map((c) => {
    const field = columnIndex(table, c.name, 'the model was trained on it');
    return encodeColumn(table, field, c, isMissing, parsed(field));
  });
  // A target column left empty (or missing) on every row (customers to score) counts as absent.
  const targetField = table.header.indexOf(schema.target);
  const present = targetField >= 0 && table.rows.some((row) => !isMissing(row[targetField] as string));
  const y = present ? readTarget(table, targetField) : undefined;
  return { file: table.file, rows: table.rows.length, columns, ...(y ? { y } : {}) };
}

/** The given rows of a set of features (a cross-validation fold, say). */
export function selectRows(features: Features, rows: ArrayLike<number>): Features {
  const pick = <A extends Float64Array | Int32Array>(source: A, into: A): A => {
    for (let i = 0; i < rows.length; i++) into[i] = source[rows[i] as number] as number;
    return into;
  };
  const columns = features.columns.map((c): Column =>
    c.type === 'numeric' ? { ...c, values: pick(c.values, new Float64Array(rows.length)) } : { ...c, codes: pick(c.codes, new Int32Array(rows.length)) },
  );
  return { rows: rows.length, columns };
}
