import { amountOf, type OperationPlan, type PlanBranch, type PlanField, type PlanSelection, type Variables } from './plan.js';
import { branchOf, collectObjects, selected } from './response-walk.js';

/** One response path of an estimate: what one call of its resolver costs, and how many calls there can be. */
export interface CostBreakdownEntry {
  path: string;
  cost: number;
  multiplier: number;
}

/** The spec's static estimate of one operation. */
export interface CostEstimate {
  /** Field cost: the sum over fields of their cost times how many times their resolver can run. */
  fieldCost: number;
  /** Type cost: the weight of every object (and costed scalar or enum) the response can hold. */
  typeCost: number;
  /** Fields with a non-zero cost, by response path; `cost * multiplier` sums to `fieldCost`. */
  breakdown: CostBreakdownEntry[];
}

interface Totals {
  field: number;
  type: number;
}

/** A field's cost per call: weight plus arguments plus directives, floored at 0 (spec: per field). */
function costPerCall(field: PlanField, variables: Variables): number {
  return Math.max(0, field.weight + amountOf(field.args, variables));
}

/** Evaluates a compiled plan with one request's variables. */
export function evaluateEstimate(plan: OperationPlan, variables: Variables, defaultListSize: number): CostEstimate {
  const breakdown: CostBreakdownEntry[] = [];
  const totals = estimateSelection(plan.root, 1, 0, variables, defaultListSize, breakdown);
  return { fieldCost: totals.field, typeCost: plan.rootTypeWeight + totals.type, breakdown };
}

function estimateSelection(
  selection: PlanSelection,
  multiplier: number,
  parentSize: number,
  variables: Variables,
  defaultListSize: number,
  out: CostBreakdownEntry[],
): Totals {
  const { branches } = selection;
  if (branches.length === 1) return estimateFields(branches[0]!, multiplier, parentSize, variables, defaultListSize, out);
  // An abstract type: the most expensive possible type prices the selection (its breakdown is
  // the one reported); the type cost is the highest of any possible type.
  let best: { totals: Totals; entries: CostBreakdownEntry[] } | null = null;
  let typeCost = 0;
  for (const branch of branches) {
    const entries: CostBreakdownEntry[] = [];
    const totals = estimateFields(branch, multiplier, parentSize, variables, defaultListSize, entries);
    if (!best || totals.field > best.totals.field) best = { totals, entries };
    typeCost = Math.max(typeCost, totals.type);
  }
  if (!best) return { field: 0, type: 0 };
  for (const entry of best.entries) out.push(entry);
  return { field: best.totals.field, type: typeCost };
}

function estimateFields(
  branch: PlanBranch,
  multiplier: number,
  parentSize: number,
  variables: Variables,
  defaultListSize: number,
  out: CostBreakdownEntry[],
): Totals {
  let field = 0;
  let type = 0;
  for (const f of branch.fields) {
    if (!selected(f, variables)) continue;
    const perCall = costPerCall(f, variables);
    // Evaluated whenever the field is selected: it is where requireOneSlicingArgument is checked.
    const sizing = f.sizing === null ? null : amountOf(f.sizing, variables);
    field += perCall * multiplier;
    if (perCall !== 0) out.push({ path: f.path, cost: perCall, multiplier });
    let instances = multiplier;
    if (f.sizeFrom !== 'none') {
      const size = f.sizeFrom === 'parent' ? parentSize : f.sizeFrom === 'own' ? sizing! : defaultListSize;
      instances *= size ** f.listDepth;
    }
    type += f.typeWeight * instances;
    if (f.selection) {
      const child = estimateSelection(f.selection, instances, sizing ?? 0, variables, defaultListSize, out);
      field += child.field;
      type += child.type;
    }
  }
  return { field, type };
}

/**
 * The spec's dynamic (response) analysis: the same weights, counted over the data actually
 * returned. A field counts once per parent object present; nothing under a null counts.
 */
export function evaluateActual(plan: OperationPlan, variables: Variables, data: unknown): number {
  if (data === null || typeof data !== 'object') return 0;
  return actualSelection(plan.root, [data as Record<string, unknown>], variables);
}

function actualSelection(selection: PlanSelection, objects: Record<string, unknown>[], variables: Variables): number {
  const { branches } = selection;
  if (branches.length === 1) return actualFields(branches[0]!, objects, variables);
  const groups = new Map<PlanBranch, Record<string, unknown>[]>();
  for (const object of objects) {
    const branch = branchOf(selection, object, variables);
    if (!branch) continue;
    const group = groups.get(branch);
    if (group) group.push(object);
    else groups.set(branch, [object]);
  }
  let total = 0;
  for (const [branch, group] of groups) total += actualFields(branch, group, variables);
  return total;
}

function actualFields(branch: PlanBranch, objects: Record<string, unknown>[], variables: Variables): number {
  let total = 0;
  for (const f of branch.fields) {
    if (!selected(f, variables)) continue;
    let calls = 0;
    const children: Record<string, unknown>[] = [];
    for (const object of objects) {
      if (!Object.hasOwn(object, f.key)) continue;
      calls += 1;
      if (f.selection) collectObjects(object[f.key], f.listDepth, children);
    }
    total += costPerCall(f, variables) * calls;
    if (f.selection && children.length > 0) total += actualSelection(f.selection, children, variables);
  }
  return total;
}
