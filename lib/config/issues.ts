import type { z } from 'zod';

/**
 * Validation issues in words that name the item, for configuration made of lists (offers, rules,
 * aggregates, segments, features...): `offer "winter-sale" value: Too small...` instead of
 * `offers.3.value`. Each list is given by its path, what to call an item, and the key holding an
 * item's name (without one, or for an unnamed item, its position: `association rule #0`; for a
 * record, its key).
 */
export interface NamedList {
  path: string[];
  label: string;
  nameKey?: string;
}

export function describeIssues(issues: z.core.$ZodIssue[], input: unknown, lists: NamedList[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String);
      const list = lists.find((l) => l.path.every((p, i) => path[i] === p) && path.length > l.path.length);
      if (!list) return `${path.join('.') || '(root)'}: ${issue.message}`;
      const at = issue.path[list.path.length] as string | number;
      let items: unknown = input;
      for (const p of list.path) items = (items as Record<string, unknown> | undefined)?.[p];
      const name = typeof at === 'number' && list.nameKey ? (items as Array<Record<string, unknown>> | undefined)?.[at]?.[list.nameKey] : undefined;
      const item = typeof at === 'string' ? `"${at}"` : typeof name === 'string' ? `"${name}"` : `#${at}`;
      return `${`${list.label} ${item} ${path.slice(list.path.length + 1).join('.')}`.trim()}: ${issue.message}`;
    })
    .join('; ');
}
