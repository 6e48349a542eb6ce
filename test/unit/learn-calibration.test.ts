import { calibrate, fitPlatt, reliability } from '../../lib/learn/calibration';

/**
 * 3,000 scores from an over-confident model (the truth is sigmoid(0.5·logit(s) − 1)), drawn with the
 * Park–Miller generator so that numpy draws the same set; the expected figures are scikit-learn's
 * (1.x): `calibration_curve(y, s, n_bins=10, strategy="quantile")` and `_sigmoid_calibration`.
 */
function overconfident(): { s: number[]; y: number[] } {
  let x = 42;
  const next = () => (x = (16807 * x) % 2147483647) / 2147483647;
  const s: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const si = 0.01 + 0.59 * next();
    const v = next();
    const p = 1 / (1 + Math.exp(-(0.5 * Math.log(si / (1 - si)) - 1)));
    s.push(si);
    y.push(v < p ? 1 : 0);
  }
  return { s, y };
}

describe('calibration', () => {
  const { s, y } = overconfident();

  it("tables reliability in bins of equal size, as scikit-learn's quantile calibration curve", () => {
    expect(y.reduce((a, b) => a + b, 0)).toBe(605);
    const table = reliability(s, y, 10);
    const observed = [0.106667, 0.11, 0.136667, 0.2, 0.19, 0.19, 0.236667, 0.266667, 0.273333, 0.306667];
    const predicted = [0.040304, 0.10019, 0.16091, 0.222753, 0.278582, 0.338144, 0.39736, 0.455405, 0.513677, 0.572084];
    table.bins.forEach((b, i) => {
      expect(b.rows).toBe(300);
      expect(b.observed).toBeCloseTo(observed[i] as number, 6);
      expect(b.predicted).toBeCloseTo(predicted[i] as number, 6);
    });
    expect(table.calibrationError).toBeGreaterThan(0.1);
  });

  it("fits Platt scaling as scikit-learn's sigmoid calibration, and the calibrated scores mean what they say", () => {
    const platt = fitPlatt(s, y);
    expect(platt.a).toBeCloseTo(0.4258874274806751, 4);
    expect(platt.b).toBeCloseTo(-0.9976710804874028, 4);
    const after = reliability(s.map((v) => calibrate(v, platt)), y, 10);
    expect(after.calibrationError).toBeLessThan(0.03);
    expect(after.brier).toBeLessThan(reliability(s, y, 10).brier);
  });

  it("keeps equal scores in one bin (a tree's leaves), as the quantile curve's edges do", () => {
    // Three leaf values over 10 rows: 4 at 0.1, 3 at 0.5, 3 at 0.9.
    const scores = [0.1, 0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.9, 0.9, 0.9];
    const outcomes = [0, 0, 0, 1, 0, 1, 1, 1, 1, 1];
    const table = reliability(scores, outcomes, 5);
    expect(table.bins).toEqual([
      { rows: 4, predicted: 0.1, observed: 0.25 },
      { rows: 3, predicted: 0.5, observed: 2 / 3 },
      { rows: 3, predicted: 0.9, observed: 1 },
    ]);
  });

  it('keeps the identity rather than flatten or reverse a ranking (scores that rank buyers last)', () => {
    const reversed = s.map((v) => 1 - v);
    expect(fitPlatt(reversed, y)).toEqual({ a: 1, b: 0 });
  });

  it('leaves scores as they are without both outcomes, and keeps the order of any scores', () => {
    expect(fitPlatt([0.2, 0.3], [0, 0])).toEqual({ a: 1, b: 0 });
    const platt = fitPlatt(s, y);
    const sorted = [...s].sort((a, b) => a - b).map((v) => calibrate(v, platt));
    expect(sorted.every((v, i) => i === 0 || v >= (sorted[i - 1] as number))).toBe(true);
  });
});
