import { isDeepStrictEqual } from 'node:util';
import { isPlainObject } from '../jsutils/is-plain-object.js';
import type { Config } from './schema.js';

/**
 * The config paths a reload applies to the running gateway: everything that is read from the
 * live config when it is used (per request, per alert, at shutdown). Every other setting is
 * read once when the gateway starts (ports, connections, timeouts, breakers, cache, metering,
 * downstream clients): a reload keeps those at their running values, so `current()` always tells
 * what is in force, and logs them as needing a restart.
 *
 * A setting added to the schema is restart-only until it is listed here: reading it live is a
 * deliberate choice, and a wrong guess is logged as "needs a restart", never silently ignored.
 */
export const LIVE_PATHS = [
  'reload',
  'plans',
  'defaultPlan',
  'tenants',
  'billing',
  'audit',
  'apiKeys',
  'serviceTokens',
  'platformAdminKeys',
  'publishableKeys',
  'cors',
  'trustedDocuments',
  'server.shutdownGraceMs',
  'server.metricsTokenSha256',
  'limits.authFailuresPerIpPerMinute',
  'limits.logsPerTenantPerMinute',
  'limits.usageQueriesPerMinute',
  'limits.documentationUrl',
  'limits.fallbackMinInstances',
  'limits.decisionHeader',
  'alerts.webhookUrl',
  'alerts.webhookSecret',
] as const;

export interface ReloadPlan {
  /** The config to put in force: `next` with every restart-only setting at its running value. */
  config: Config;
  /** Changed settings that apply now (dotted paths, e.g. `plans.free.limits.requestsPerMinute`). */
  applied: string[];
  /** Changed settings that apply at the next restart (e.g. `server.port`). */
  needsRestart: string[];
}

/** Splits the change from `running` to `next` into what applies now and what waits for a restart. */
export function planReload(running: Config, next: Config): ReloadPlan {
  const changed = changedPaths(running, next, '');
  const applied = changed.filter(isLive);
  const needsRestart = changed.filter((path) => !isLive(path));
  const config = needsRestart.length === 0 ? next : (merge(running, next, '') as Config);
  return { config, applied, needsRestart };
}

function isLive(path: string): boolean {
  return LIVE_PATHS.some((live) => path === live || path.startsWith(`${live}.`));
}

/** True when some live path lies below `path`, so the node must be merged key by key. */
function containsLive(path: string): boolean {
  return path === '' || LIVE_PATHS.some((live) => live.startsWith(`${path}.`));
}

function merge(running: unknown, next: unknown, path: string): unknown {
  if (path !== '' && isLive(path)) return next;
  if (!containsLive(path) || !isPlainObject(running) || !isPlainObject(next)) return running;
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(running), ...Object.keys(next)])) {
    const child = path === '' ? key : `${path}.${key}`;
    const value = merge(running[key], next[key], child);
    if (value !== undefined) out[key] = value;
  }
  return Object.freeze(out);
}

/** Leaf paths (objects are walked, arrays compared whole) whose values differ. */
function changedPaths(a: unknown, b: unknown, path: string): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((key) => changedPaths(a[key], b[key], path === '' ? key : `${path}.${key}`));
  }
  return isDeepStrictEqual(a, b) ? [] : [path];
}
