import type { OperationPlan, PlanBranch, PlanField, PlanSelection, Variables } from '../cost/plan.js';
import { amountOf } from '../cost/plan.js';
import { branchOf, collectObjects, selected } from '../cost/response-walk.js';

/**
 * One list in a response: the field it is (`Order.items`), how long it was, and the size the
 * estimate priced it at in this request (its slicing argument, `assumedSize`, the parent's
 * slicing argument for a `sizedFields` child, or the default list size).
 */
export type ListVisitor = (field: PlanField, returned: number, estimated: number) => void;

/**
 * Walks `data` along the operation's plan and reports every list field returned, with the size
 * the estimate assumed for it (the same choice as cost/evaluate.ts `estimateFields`). Only the
 * outer length of a nested list `[[T]]` is reported. A null list is not reported: it returned nothing to size.
 */
export function visitLists(plan: OperationPlan, variables: Variables, defaultListSize: number, data: unknown, visit: ListVisitor): void {
  if (data === null || typeof data !== 'object') return;
  walkSelection(plan.root, [data as Record<string, unknown>], 0, variables, defaultListSize, visit);
}

function walkSelection(
  selection: PlanSelection,
  objects: Record<string, unknown>[],
  parentSize: number,
  variables: Variables,
  defaultListSize: number,
  visit: ListVisitor,
): void {
  if (selection.branches.length === 1) {
    walkFields(selection.branches[0]!, objects, parentSize, variables, defaultListSize, visit);
    return;
  }
  for (const object of objects) {
    const branch = branchOf(selection, object, variables);
    if (branch) walkFields(branch, [object], parentSize, variables, defaultListSize, visit);
  }
}

function walkFields(
  branch: PlanBranch,
  objects: Record<string, unknown>[],
  parentSize: number,
  variables: Variables,
  defaultListSize: number,
  visit: ListVisitor,
): void {
  for (const f of branch.fields) {
    if (!selected(f, variables)) continue;
    const sizing = f.sizing === null ? 0 : amountOf(f.sizing, variables);
    const estimated = f.sizeFrom === 'parent' ? parentSize : f.sizeFrom === 'own' ? sizing : defaultListSize;
    const children: Record<string, unknown>[] = [];
    for (const object of objects) {
      const value = object[f.key];
      if (value === null || value === undefined) continue;
      if (f.listDepth > 0 && Array.isArray(value)) visit(f, value.length, estimated);
      if (f.selection) collectObjects(value, f.listDepth, children);
    }
    if (f.selection && children.length > 0) walkSelection(f.selection, children, sizing, variables, defaultListSize, visit);
  }
}
