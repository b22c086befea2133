import type { Priority } from '../fairness/priority.js';

/** One rule of `admission.priorities` (config): the first that matches a request gives its class. */
export interface PriorityRule {
  class: Priority;
  keys?: readonly string[];
  /** Exact names, or a prefix ending in `*` (`Export*`). */
  operationNames?: readonly string[];
  rootFields?: readonly string[];
}

/** What the door knows of a request when it classifies it (before Apollo parses it). */
export interface ClassifiedRequest {
  clientId: string;
  operationName: string | null;
  /** Null when the door has not seen the text before and could not read it (then only key and name rules apply). */
  rootFields: readonly string[] | null;
}

/**
 * The priority class of a request: critical (checkout), normal (the default), batch (exports):
 * the first rule matching its key, its operation name or one of its root fields.
 */
export function priorityOf(rules: readonly PriorityRule[], request: ClassifiedRequest): Priority {
  for (const rule of rules) {
    if (rule.keys?.includes(request.clientId)) return rule.class;
    if (request.operationName !== null && rule.operationNames?.some((name) => nameMatches(name, request.operationName!))) return rule.class;
    if (request.rootFields && rule.rootFields?.some((field) => request.rootFields!.includes(field))) return rule.class;
  }
  return 'normal';
}

function nameMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}
