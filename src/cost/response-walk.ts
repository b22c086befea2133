import { guardHolds, type PlanBranch, type PlanField, type PlanSelection, type Variables } from './plan.js';

/**
 * Walking a response along a compiled plan (plan.ts): what the actual cost (evaluate.ts) and the
 * list sizes cost calibration observes (calibration/list-sizes.ts) both need.
 */

/** Whether a field is in the response for these variables: no `@include`/`@skip` guard, or one that holds. */
export function selected(field: PlanField, variables: Variables): boolean {
  if (field.guards === null) return true;
  for (const guard of field.guards) if (guardHolds(guard, variables)) return true;
  return false;
}

/**
 * Which possible type an abstract value is: its `__typename` when selected; otherwise the type
 * whose selected response keys match the value's keys best (ties: the first in schema order).
 */
export function branchOf(selection: PlanSelection, object: Record<string, unknown>, variables: Variables): PlanBranch | undefined {
  for (const key of selection.typenameKeys) {
    const name = object[key];
    if (typeof name === 'string') {
      const branch = selection.branches.find((b) => b.typeName === name);
      if (branch) return branch;
    }
  }
  let best: PlanBranch | undefined;
  let bestScore = -Infinity;
  for (const branch of selection.branches) {
    let score = 0;
    for (const f of branch.fields) {
      if (selected(f, variables)) score += Object.hasOwn(object, f.key) ? 1 : -1;
    }
    if (score > bestScore) {
      best = branch;
      bestScore = score;
    }
  }
  return best;
}

/** The objects a field's value holds, `listDepth` lists deep, into `out` (nulls and scalars skipped). */
export function collectObjects(value: unknown, listDepth: number, out: Record<string, unknown>[]): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (listDepth > 0) for (const item of value) collectObjects(item, listDepth - 1, out);
    return;
  }
  out.push(value as Record<string, unknown>);
}
