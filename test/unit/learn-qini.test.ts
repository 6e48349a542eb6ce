import { qini, qiniCoefficient, qiniCurve } from '../../lib/learn/qini';

describe('the Qini curve and coefficient', () => {
  // Eight customers by predicted uplift, highest first: treated or control, and whether they bought.
  const y = [1, 0, 1, 0, 1, 0, 0, 1];
  const treated = [1, 1, 0, 0, 1, 0, 1, 0];
  const uplift = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];

  it('counts incremental responders at each cut: treated responders less control responders scaled to as many treated', () => {
    // Prepare: by hand, after k customers, Y_T - Y_C * N_T / N_C (0 while there is no control):
    // 1: 1 - 0; 2: 1 - 0; 3: 1 - 1*2/1 = -1; 4: 1 - 1*2/2 = 0; 5: 2 - 1*3/2 = 0.5; 6: 2 - 1*3/3 = 1; 7: 2 - 1*4/3; 8: 2 - 2*4/4 = 0.
    const expected = [0, 1, 1, -1, 0, 0.5, 1, 2 - 4 / 3, 0];

    // Act
    const curve = qiniCurve(y, uplift, treated);

    // Assess
    expect(Array.from(curve.customers)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    Array.from(curve.incremental).forEach((q, i) => expect(q).toBeCloseTo(expected[i] as number, 12));
  });

  it('gives the area between the curve and random targeting as a share of the perfect ranking’s', () => {
    // Prepare: the curve's area (trapezoids of width 1) is 0.5 + 1 + 0 - 0.5 + 0.25 + 0.75 + 5/6 + 1/3 = 19/6;
    // random targeting ends at 0 incremental responders, so its line has area 0. The perfect ranking puts
    // the two treated responders first (2), then the four who did not buy (still 2), then the two control
    // responders (0): points (0,0) (2,2) (6,2) (8,0), area 2 + 8 + 2 = 12. The coefficient: 19/6 / 12.
    // Act
    const coefficient = qiniCoefficient(y, uplift, treated);

    // Assess
    expect(coefficient).toBeCloseTo(19 / 72, 12);
  });

  it('reads the table at tenths of the customers, ties at a cut shared pro rata', () => {
    // Act
    const table = qini(y, uplift, treated, 4);
    const tied = qini(y, new Array(8).fill(0.1), treated, 4);

    // Assess: cuts at 2, 4, 6 and 8 customers, as the curve.
    expect(table.deciles.map((d) => [d.customers, d.treated, d.control, d.treatedResponders, d.controlResponders])).toEqual([
      [2, 2, 0, 1, 0],
      [4, 2, 2, 1, 1],
      [6, 3, 3, 2, 1],
      [8, 4, 4, 2, 2],
    ]);
    table.deciles.forEach((d, i) => expect(d.incremental).toBeCloseTo([1, 0, 1, 0][i] as number, 12));
    expect(table).toMatchObject({ customers: 8, treated: 4, control: 4, incremental: 0 });
    // One tie block: every cut holds the same share of each arm, so a random order's figures.
    expect(tied.deciles[1]).toMatchObject({ customers: 4, treated: 2, control: 2, treatedResponders: 1, controlResponders: 1, incremental: 0 });
    expect(tied.coefficient).toBeCloseTo(0, 12);
  });

  it('is 1 for the perfect ranking and negative for its reverse', () => {
    // Prepare
    const perfect = y.map((v, i) => (v === 1 ? (treated[i] === 1 ? 1 : -1) : 0));

    // Act / Assess
    expect(qiniCoefficient(y, perfect, treated)).toBeCloseTo(1, 12);
    expect(qiniCoefficient(y, perfect.map((s) => -s), treated)).toBeLessThan(0);
  });

  it('agrees with scikit-uplift’s qini_auc_score on a larger sample (values computed with its definition in numpy)', () => {
    // Prepare: a seeded population of 40, scores in tenths (so with ties), drawn by the Park-Miller
    // generator, which test/support/sklift_qini.py draws the same way.
    let state = 12345;
    const next = () => (state = (state * 48271) % 2147483647) / 2147483647;
    const n = 40;
    const t = Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0));
    const score = Array.from({ length: n }, () => Math.floor(next() * 10 + 0.5) / 10);
    const outcome = Array.from({ length: n }, (_, i) => (next() < 0.2 + 0.4 * (t[i] as number) * (score[i] as number) ? 1 : 0));

    // Act
    const coefficient = qiniCoefficient(outcome, score, t);

    // Assess: scikit-uplift's qini_curve and qini_auc_score, as numpy code (test/support/sklift_qini.py, which prints it).
    expect(coefficient).toBeCloseTo(SKLIFT_QINI_40, 10);
  });
});

/** scikit-uplift's qini_auc_score (negative_effect=True) on the population of 40 above. */
const SKLIFT_QINI_40 = 0.26015112543969376;
