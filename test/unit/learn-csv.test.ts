import { dataset, encode, LearnInputError, MISSING_LEVEL, parseCsv, selectRows, type CategoricalColumn, type NumericColumn } from '../../lib/learn/csv';

/** The LearnInputError `act` throws (failing the test if it throws nothing or something else). */
function inputError(act: () => unknown): LearnInputError {
  try {
    act();
  } catch (error) {
    if (error instanceof LearnInputError) return error;
    throw error;
  }
  throw new Error('expected a LearnInputError');
}

const numeric = (c: unknown) => c as NumericColumn;
const categorical = (c: unknown) => c as CategoricalColumn;

describe('reading a CSV file (RFC 4180)', () => {
  it('reads quoted fields holding commas, doubled quotes and line breaks, with CRLF, a BOM and a trailing newline', () => {
    const text = '\uFEFFname,note,bought\r\n"Smith, Ann","said ""hi""",1\r\nBo,"two\r\nlines",0\r\n';
    const table = parseCsv(text, 'customers.csv');
    expect(table.header).toEqual(['name', 'note', 'bought']);
    expect(table.rows).toEqual([
      ['Smith, Ann', 'said "hi"', '1'],
      ['Bo', 'two\r\nlines', '0'],
    ]);
  });

  it('reads LF files without a trailing newline and skips blank lines', () => {
    const table = parseCsv('a,b\n1,2\n\n3,4', 'plain.csv');
    expect(table.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('locates a field by line and character column, counting the lines inside quoted fields', () => {
    const table = parseCsv('id,note,flag\n1,"a\nb",0\n2,x,yes\n', 'notes.csv');
    expect(table.locate(1, 2)).toEqual({ line: 4, column: 5 });
    expect(table.locate(0, 1)).toEqual({ line: 2, column: 3 });
  });

  it.each([
    ['an empty file', '', 1, undefined, /empty/],
    ['a file of blank lines', '\n\r\n  \n', 1, undefined, /empty/],
    ['an empty first line', '\nage,bought\n30,1\n', 1, 1, /first line is empty.*header/],
    ['a header column without a name', 'age,,bought\n30,x,1\n', 1, 5, /column 2 of the header has no name/],
    ['a repeated header name', 'age,income,age\n1,2,3\n', 1, 12, /"age", repeats the name of column 1/],
  ])('rejects %s, naming the line', (_, text, line, column, message) => {
    const error = inputError(() => parseCsv(text, 'in.csv'));
    expect({ file: error.file, line: error.line, column: error.column }).toEqual({ file: 'in.csv', line, column });
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^in\.csv:1/);
  });

  it('rejects a row with too few or too many columns, naming its line and both counts', () => {
    const short = inputError(() => parseCsv('age,income,bought\n30,"1,000",1\n41,2000\n', 'ragged.csv'));
    expect(short.message).toBe('ragged.csv:3:1: this row has 2 columns, expected 3 as in the header');
    const long = inputError(() => parseCsv('age,bought\n"multi\nline",1\n41,2,0\n', 'ragged.csv'));
    expect(long.line).toBe(4);
    expect(long.message).toMatch(/3 columns, expected 2/);
  });

  it('rejects an unterminated quote at the line and column where it opens', () => {
    const error = inputError(() => parseCsv('age,note,bought\n30,ok,1\n41,"never closed,0\n52,x,1\n', 'quotes.csv'));
    expect([error.line, error.column]).toEqual([3, 4]);
    expect(error.message).toBe('quotes.csv:3:4: a quoted field (field 2) is never closed: its closing quote is missing');
  });

  it('rejects text after a closing quote', () => {
    const error = inputError(() => parseCsv('a,b\n"x"y,1\n', 'q.csv'));
    expect([error.line, error.column]).toEqual([2, 4]);
    expect(error.message).toMatch(/after the closing quote of field 1/);
  });
});

describe('a training set from a table', () => {
  const table = parseCsv(
    ['age,region,income,bought', '30,north,1000,0', '40,south,,1', ',north,3000,0', '50,,2000,1', '60,east,4000,0'].join('\n'),
    'train.csv',
  );

  it('types columns (numeric when every non-empty cell is a number) and takes the last column as the target', () => {
    const data = dataset(table);
    expect(data.schema.target).toBe('bought');
    expect(data.schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['age', 'numeric'],
      ['region', 'categorical'],
      ['income', 'numeric'],
    ]);
    expect(Array.from(data.y)).toEqual([0, 1, 0, 1, 0]);
    expect(data.positives).toBe(2);
  });

  it('leaves a missing number missing (NaN: each model fills it from its own training rows) and reads a missing level as "(missing)"', () => {
    const data = dataset(table);
    expect(Array.from(numeric(data.columns[0]).values)).toEqual([30, 40, NaN, 50, 60]);
    expect(data.schema.columns[0]).toEqual({ name: 'age', type: 'numeric', mean: 45 });
    expect(Array.from(numeric(data.columns[2]).values)).toEqual([1000, NaN, 3000, 2000, 4000]);
    const region = categorical(data.columns[1]);
    expect(region.levels).toEqual(['east', 'north', 'south', MISSING_LEVEL]);
    expect(Array.from(region.codes)).toEqual([1, 2, 1, 3, 0]);
  });

  it('takes a type given for a column over the detected one', () => {
    const data = dataset(table, { types: { age: 'categorical' } });
    expect(categorical(data.columns[0]).levels).toEqual(['30', '40', '50', '60', MISSING_LEVEL]);
  });

  it('rejects a column declared numeric that holds text, at its line and column', () => {
    const error = inputError(() => dataset(table, { types: { region: 'numeric' } }));
    expect(error.message).toBe('train.csv:2:4: "north" in numeric column "region" (column 2) is not a number');
  });

  it('rejects a target that is not a column, naming it and some of the columns', () => {
    const error = inputError(() => dataset(table, { target: 'CARAVAN' }));
    expect(error.message).toBe('train.csv:1:1: no column "CARAVAN" (the target); the header has "age", "region", "income", "bought"');
  });

  it('rejects a target value other than 0 or 1 at the first one, naming line and column', () => {
    const bad = parseCsv('age,bought\n30,1\n40,0\n50,yes\n60,2\n', 'bad.csv');
    const error = inputError(() => dataset(bad, { target: 'bought' }));
    expect([error.line, error.column]).toEqual([4, 4]);
    expect(error.message).toBe('bad.csv:4:4: the target "bought" (column 2) must be 0 or 1, not "yes"');
    expect(inputError(() => dataset(parseCsv('bought,age\n1,3\n,4\n', 'e.csv'), { target: 'bought' })).message).toMatch(/^e\.csv:3:1: .* not empty/);
  });

  it('rejects a target with only one value', () => {
    expect(inputError(() => dataset(parseCsv('age,bought\n1,0\n2,0\n', 'zeros.csv'))).message).toMatch(/0 on every row/);
  });

  it('encodes a second file the same way: columns by name, target absent, unseen levels -1, missing numbers NaN', () => {
    const data = dataset(table);
    const scoring = encode(parseCsv('income,region,age,customer\n,west,20,c1\n5000,(missing),,c2\n', 'score.csv'), data.schema);
    expect(scoring.y).toBeUndefined();
    expect(scoring.columns.map((c) => c.name)).toEqual(['age', 'region', 'income']);
    expect(Array.from(numeric(scoring.columns[0]).values)).toEqual([20, NaN]);
    expect(Array.from(categorical(scoring.columns[1]).codes)).toEqual([-1, 3]);
    expect(Array.from(numeric(scoring.columns[2]).values)).toEqual([NaN, 5000]);
  });

  it('reads NA-style cells as missing, so an age column with "NA" stays numeric (pandas\' default tokens)', () => {
    const ages = parseCsv('age,region,bought\n30,north,0\nNA,south,1\n50, N/A ,0\nnull,?,1\n', 'na.csv');
    const data = dataset(ages);
    expect(data.schema.columns.map((c) => c.type)).toEqual(['numeric', 'categorical']);
    expect(Array.from(numeric(data.columns[0]).values)).toEqual([30, NaN, 50, NaN]);
    // "?" is not one of the default tokens: a level of its own.
    expect(categorical(data.columns[1]).levels).toEqual(['?', 'north', 'south', MISSING_LEVEL]);
  });

  it('takes the missing tokens it is given instead of the defaults, and encodes a second file with them', () => {
    const ages = parseCsv('age,region,bought\n30,north,0\n?,?,1\n50,NA,0\n', 'q.csv');
    const data = dataset(ages, { missing: ['', '?'] });
    expect(Array.from(numeric(data.columns[0]).values)).toEqual([30, NaN, 50]);
    expect(categorical(data.columns[1]).levels).toEqual(['NA', 'north', MISSING_LEVEL]);
    const scored = encode(parseCsv('age,region\n?,?\n20,north\n', 's.csv'), data.schema);
    expect(Array.from(categorical(scored.columns[1]).codes)).toEqual([2, 1]);
    expect(() => encode(parseCsv('age,region\nNA,north\n', 's.csv'), data.schema)).toThrow(/"NA" in numeric column "age"/);
  });

  it('reads the target of a second file when it has one, and rejects one missing a predictor', () => {
    const data = dataset(table);
    expect(Array.from(encode(parseCsv('age,region,income,bought\n1,north,2,1\n', 't.csv'), data.schema).y ?? [])).toEqual([1]);
    expect(inputError(() => encode(parseCsv('age,income\n1,2\n', 't.csv'), data.schema)).message).toMatch(/no column "region" \(the model was trained on it\)/);
  });

  it('selects rows of every column', () => {
    const picked = selectRows(dataset(table), [4, 0]);
    expect(picked.rows).toBe(2);
    expect(Array.from(numeric(picked.columns[0]).values)).toEqual([60, 30]);
    expect(Array.from(categorical(picked.columns[1]).codes)).toEqual([0, 1]);
  });
});
