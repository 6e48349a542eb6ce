/** `moment score`: scores a CSV with a model saved by `moment train --save-model`, as the decision function would. */
import { writeFileSync } from 'node:fs';
import { parseCsv } from '../learn/csv';
import { scoreFile } from '../learn/model-file';
import { options, readText, required, UsageError, type Streams } from './moment';
import { missingTokens } from './train-command';

export const SCORE_USAGE = `moment score --model FILE --data FILE [--out FILE] [--na TOKENS]

Scores each row of a CSV with a model saved by \`moment train --save-model\` (the decision function's
artifact: its "default" target), through the decision function's own scoring code. Columns are found
by name (the artifact's traits.<column>), in any order; other columns are ignored. Prints, or writes
to --out, a CSV with a "score" column, one row per data row, in order: the same numbers as
\`moment train --test FILE --scores\` wrote for that file.

  --model FILE     the artifact (JSON)
  --data FILE      the rows to score
  --out FILE       where to write the scores (default: standard output)
  --na TOKENS      cells that mean "missing", as given to moment train (default pandas' list)
`;

export function scoreCommand(args: string[], io: Streams): void {
  const v = options(args, { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, na: { type: 'string' } });
  const modelFile = required(v.model, 'model');
  const dataFile = required(v.data, 'data');
  let document: unknown;
  try {
    document = JSON.parse(readText(modelFile));
  } catch (e) {
    if (e instanceof SyntaxError) throw new UsageError(`--model ${modelFile} is not JSON: ${e.message}`);
    throw e;
  }
  const scores = scoreFile(document, parseCsv(readText(dataFile), dataFile), v.na === undefined ? {} : { missing: missingTokens(v.na) });
  const csv = `score\n${Array.from(scores, (s) => String(s)).join('\n')}\n`;
  if (v.out === undefined) io.out.write(csv);
  else {
    writeFileSync(v.out, csv);
    io.out.write(`${dataFile}: ${scores.length} rows scored into ${v.out}\n`);
  }
}
