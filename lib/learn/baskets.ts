/**
 * Basket files, as arules' `read.transactions(format = "basket", sep = ",")` reads them: one basket a
 * line, its items separated by commas. Items are trimmed; blank lines (a trailing newline, say) are
 * not baskets.
 */
import { LearnInputError } from './errors';

export function readBaskets(text: string, file: string): string[][] {
  const baskets: string[][] = [];
  // Split on "\n" and each line's "\r" dropped, items trimmed in place: half the time of a split on
  // /\r?\n/ and a trimmed copy of every basket, in a process that reads a file once.
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const items = line.split(',');
    for (let k = 0; k < items.length; k++) {
      const item = (items[k] as string).trim();
      if (item === '') throw new LearnInputError(file, i + 1, `an empty item (item ${k + 1} of the basket)`, columnOfItem(line, k));
      items[k] = item;
    }
    baskets.push(items);
  }
  if (baskets.length === 0) throw new LearnInputError(file, 1, 'no baskets: the file is empty');
  return baskets;
}

/** The 1-based character column where the basket's n-th item starts. */
function columnOfItem(line: string, n: number): number {
  let column = 1;
  for (let i = 0; i < n; i++) column = line.indexOf(',', column - 1) + 2;
  return column;
}
