import { mergeRoots } from '../../lib/learn/merge-roots';

const CUTOFF = new Date('2026-11-01T00:00:00.000Z');
const before = '2026-10-20T10:00:00.000Z';
const after = '2026-11-05T10:00:00.000Z';

describe('where merged profiles belonged at the training cut-off', () => {
  it('follows a chain of merges on both sides of the cut-off: each event belongs to the profile that was live at the cut-off', () => {
    // Her tablet merged into her phone in October (before the cut-off); her phone into her account at checkout in November.
    const merged = new Map([
      ['tablet', 'phone'],
      ['phone', 'account'],
    ]);
    const times = new Map([
      ['tablet', before],
      ['phone', after],
    ]);
    const { roots, cutoffRoots } = mergeRoots(merged, times, CUTOFF);
    expect(roots).toEqual({ tablet: 'account', phone: 'account' });
    // At the cut-off her tablet's and her phone's browsing were one anonymous row (the phone's), not hers.
    expect(cutoffRoots).toEqual({ tablet: 'phone', phone: 'phone' });
  });

  it('keeps a chain wholly before the cut-off with the live profile, and takes a merge no log kept as old', () => {
    const merged = new Map([
      ['a', 'b'],
      ['b', 'c'],
      ['old', 'c'],
    ]);
    const times = new Map([
      ['a', before],
      ['b', before],
    ]);
    expect(mergeRoots(merged, times, CUTOFF)).toEqual({ roots: { a: 'c', b: 'c', old: 'c' }, cutoffRoots: {} });
  });

  it('stops at the first merge after the cut-off along a longer chain', () => {
    const merged = new Map([
      ['d1', 'd2'],
      ['d2', 'd3'],
      ['d3', 'd4'],
    ]);
    const times = new Map([
      ['d1', after],
      ['d2', before],
      ['d3', after],
    ]);
    // d1 merged after the cut-off: it was its own row then. d2 merged into d3 before it: d2's events were d3's row.
    expect(mergeRoots(merged, times, CUTOFF).cutoffRoots).toEqual({ d1: 'd1', d2: 'd3', d3: 'd3' });
  });

  it('refuses a chain longer than the profile reader follows (a cycle)', () => {
    expect(() => mergeRoots(new Map([['x', 'y'], ['y', 'x']]), new Map(), CUTOFF)).toThrow(/too long/);
  });
});
