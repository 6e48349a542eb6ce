/** Input a person gave the learning commands that cannot be used, named by file, line and column. */
export class LearnInputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
    readonly column?: number,
  ) {
    super(`${file}:${line}${column === undefined ? '' : `:${column}`}: ${reason}`);
    this.name = 'LearnInputError';
  }
}
