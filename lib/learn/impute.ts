/**
 * Missing numbers for the logistic regression: each numeric column's missing cells (NaN) take the
 * mean of the column's present values among the model's own training rows, and a column with
 * missing values there gains a 0/1 indicator `<column> (missing)`, so a model can learn that a
 * missing age says something (scikit-learn's `SimpleImputer(add_indicator=True)`). Learned inside
 * each cross-validation fold, never from the rows a fold's model is judged on.
 */
import type { Column, Features, NumericColumn } from './csv';

export interface Imputation {
  column: string;
  /** The mean of the column's present values in the training rows (0 when it had none). */
  fill: number;
  /** Whether the model has the column's missing indicator (it had missing values in training). */
  indicator: boolean;
}

/** The name of a column's missing indicator. */
export const indicatorOf = (column: string): string => `${column} (missing)`;

/** Each numeric column's fill and whether it needs an indicator, from training rows. */
export function learnImputation(data: Features): Imputation[] {
  return data.columns.filter((c): c is NumericColumn => c.type === 'numeric').map((c) => {
    let sum = 0;
    let present = 0;
    for (const x of c.values) {
      if (Number.isNaN(x)) continue;
      sum += x;
      present++;
    }
    return { column: c.name, fill: present === 0 ? 0 : sum / present, indicator: present < c.values.length };
  });
}

/** The features with missing numbers filled and the indicators added after the columns (a column without a missing value is passed as it is). */
export function impute(data: Features, imputation: readonly Imputation[]): Features {
  const byName = new Map(imputation.map((m) => [m.column, m]));
  const indicators: Column[] = [];
  const columns = data.columns.map((c): Column => {
    const m = byName.get(c.name);
    if (c.type !== 'numeric' || m === undefined) return c;
    const missing = m.indicator ? new Float64Array(data.rows) : undefined;
    if (missing) indicators.push({ name: indicatorOf(c.name), type: 'numeric', values: missing });
    if (!c.values.some(Number.isNaN)) return c;
    const values = Float64Array.from(c.values);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isNaN(values[i] as number)) continue;
      values[i] = m.fill;
      if (missing) missing[i] = 1;
    }
    return { ...c, values };
  });
  return { rows: data.rows, columns: [...columns, ...indicators] };
}
