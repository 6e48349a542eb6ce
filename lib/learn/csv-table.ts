/**
 * A CSV file (RFC 4180) read into a header and rows, for `moment train` and `moment score`. Errors
 * name the file, the line and the column (the 1-based character position, as a compiler would) and
 * say which field is wrong, so a person can fix the file in an editor.
 */
import { LearnInputError } from './errors';

export interface CsvTable {
  file: string;
  header: string[];
  /** Data rows, each as long as the header. Blank lines are not rows. */
  rows: string[][];
  /** Where field `field` (0-based) of data row `row` (0-based) starts: line and character column. */
  locate(row: number, field: number): { line: number; column: number };
}

interface CsvRecord {
  fields: string[];
  /** Line and column where each field starts. */
  starts: Array<{ line: number; column: number }>;
  /** Offset just past the record's line break (or the end of the text). */
  next: number;
  nextLine: number;
}

const BOM = '\uFEFF';

/** Where reading is: the offset, its line, and the offset that line starts at. */
interface Cursor {
  pos: number;
  line: number;
  lineStart: number;
}

const column = (at: Cursor) => at.pos - at.lineStart + 1;

/**
 * A quoted field from the opening quote at `at.pos`: it runs to the next lone `"`, `""` inside
 * stands for one quote, and line breaks inside are kept (and counted). Moves `at` past the field.
 */
function readQuoted(text: string, file: string, at: Cursor, field: number): string {
  const open = { line: at.line, column: column(at) };
  let value = '';
  at.pos++;
  for (;;) {
    const close = text.indexOf('"', at.pos);
    if (close < 0) throw new LearnInputError(file, open.line, `a quoted field (field ${field}) is never closed: its closing quote is missing`, open.column);
    const chunk = text.slice(at.pos, close);
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) {
      at.line++;
      at.lineStart = at.pos + i + 1;
    }
    value += chunk;
    at.pos = close + 1;
    if (text[at.pos] !== '"') break;
    value += '"';
    at.pos++;
  }
  const after = text[at.pos];
  if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') {
    throw new LearnInputError(file, at.line, `unexpected text after the closing quote of field ${field}; quote the whole field and double any quote inside it ("")`, column(at));
  }
  return value;
}

/** An unquoted field: up to the next comma or line break. A quote inside is kept as it is (lenient, as most tools are). */
function readPlain(text: string, at: Cursor): string {
  let end = at.pos;
  while (end < text.length && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
  const value = text.slice(at.pos, end);
  at.pos = end;
  return value;
}

/** Reads one record from `pos`, the start of a line: fields separated by commas up to an unquoted CR, LF or CRLF. */
function readRecord(text: string, file: string, pos: number, line: number): CsvRecord {
  const fields: string[] = [];
  const starts: CsvRecord['starts'] = [];
  const at: Cursor = { pos, line, lineStart: pos };
  for (;;) {
    starts.push({ line: at.line, column: column(at) });
    fields.push(text[at.pos] === '"' ? readQuoted(text, file, at, fields.length + 1) : readPlain(text, at));
    const c = text[at.pos];
    if (c === ',') {
      at.pos++;
      continue;
    }
    const next = c === undefined ? at.pos : c === '\r' && text[at.pos + 1] === '\n' ? at.pos + 2 : at.pos + 1;
    return { fields, starts, next, nextLine: at.line + 1 };
  }
}

/** A line with nothing on it (a quoted empty field `""` is not blank). */
const isBlankLine = (text: string, pos: number) => pos >= text.length || text[pos] === '\n' || text[pos] === '\r';

function readHeader(text: string, file: string, pos: number): CsvRecord {
  if (text.trim() === '') throw new LearnInputError(file, 1, 'the file is empty: expected a header line naming the columns, then one row per line');
  if (isBlankLine(text, pos)) throw new LearnInputError(file, 1, 'the first line is empty: expected a header line naming the columns', 1);
  const header = readRecord(text, file, pos, 1);
  const seen = new Map<string, number>();
  header.fields.forEach((name, i) => {
    const at = header.starts[i] as { line: number; column: number };
    if (name.trim() === '') throw new LearnInputError(file, at.line, `column ${i + 1} of the header has no name`, at.column);
    const first = seen.get(name.trim());
    if (first !== undefined) throw new LearnInputError(file, at.line, `column ${i + 1} of the header, "${name.trim()}", repeats the name of column ${first + 1}`, at.column);
    seen.set(name.trim(), i);
  });
  return header;
}

/**
 * Parses CSV text (RFC 4180: quoted fields may hold commas, quotes as `""` and line breaks; CRLF or
 * LF; a byte-order mark and a trailing newline are ignored). The first line is the header. Blank
 * lines are skipped (so in a one-column file an empty value must be written `""`). Every row must
 * have as many fields as the header. Header names are trimmed; values are kept as written.
 */
export function parseCsv(text: string, file: string): CsvTable {
  const start = text.startsWith(BOM) ? 1 : 0;
  const header = readHeader(text, file, start);
  const width = header.fields.length;
  const rows: string[][] = [];
  const at: Array<{ pos: number; line: number }> = [];
  for (let pos = header.next, line = header.nextLine; pos < text.length; ) {
    const record = readRecord(text, file, pos, line);
    if (!isBlankLine(text, pos)) {
      if (record.fields.length !== width) {
        throw new LearnInputError(file, line, `this row has ${record.fields.length} column${record.fields.length === 1 ? '' : 's'}, expected ${width} as in the header`, 1);
      }
      rows.push(record.fields);
      at.push({ pos, line });
    }
    pos = record.next;
    line = record.nextLine;
  }
  const locate = (row: number, field: number) => {
    const where = at[row];
    if (!where) throw new RangeError(`no data row ${row} in ${file}`);
    const r = readRecord(text, file, where.pos, where.line);
    return r.starts[field] ?? { line: where.line, column: 1 };
  };
  return { file, header: header.fields.map((h) => h.trim()), rows, locate };
}
