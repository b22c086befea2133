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
  // Loops rather than closures: this runs on every request at the door.
  const { clientId, operationName, rootFields } = request;
  for (const rule of rules) {
    if (rule.keys?.includes(clientId)) return rule.class;
    if (operationName !== null && rule.operationNames !== undefined && anyNameMatches(rule.operationNames, operationName)) return rule.class;
    if (rootFields !== null && rule.rootFields !== undefined && anyShared(rule.rootFields, rootFields)) return rule.class;
  }
  return 'normal';
}

function anyNameMatches(patterns: readonly string[], name: string): boolean {
  for (const pattern of patterns) if (nameMatches(pattern, name)) return true;
  return false;
}

function anyShared(wanted: readonly string[], fields: readonly string[]): boolean {
  for (const field of wanted) if (fields.includes(field)) return true;
  return false;
}

function nameMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}
