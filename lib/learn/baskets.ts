/**
 * Basket files, as arules' `read.transactions(format = "basket", sep = ",")` reads them: one basket a
 * line, its items separated by commas. Items are trimmed; blank lines (a trailing newline, say) are
 * not baskets.
 */
import { LearnInputError } from './errors';

export function readBaskets(text: string, file: string): string[][] {
  const baskets: string[][] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const items = line.split(',').map((item) => item.trim());
    const empty = items.findIndex((item) => item === '');
    if (empty >= 0) throw new LearnInputError(file, i + 1, `an empty item (item ${empty + 1} of the basket)`, columnOfItem(line, empty));
    baskets.push(items);
  });
  if (baskets.length === 0) throw new LearnInputError(file, 1, 'no baskets: the file is empty');
  return baskets;
}

/** The 1-based character column where the basket's n-th item starts. */
function columnOfItem(line: string, n: number): number {
  let column = 1;
  for (let i = 0; i < n; i++) column = line.indexOf(',', column - 1) + 2;
  return column;
}
