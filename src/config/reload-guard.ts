import type { ConfigIssue } from './load.js';
import type { Config } from './schema.js';

/**
 * What a reload must not do without `reload.allowRevokingAllKeys: true` in the new file: leave a
 * tenant that is still configured with no credential at all, remove every platform-admin key,
 * or remove every credential. A file cut short while it is being written is typically still
 * valid YAML and a valid config, minus the key lists at its end; applying it would answer 401 to
 * every client. Removing a tenant together with its keys is allowed (offboarding), and so is
 * removing some of a tenant's keys (rotation).
 *
 * Returns one issue per problem, empty when the change is safe (or allowed).
 */
export function revokedCredentials(previous: Config, next: Config): ConfigIssue[] {
  if (next.reload.allowRevokingAllKeys) return [];
  const issues: ConfigIssue[] = [];
  const hint = 'set reload.allowRevokingAllKeys: true in the file if this is intended';

  const before = credentialsPerTenant(previous);
  const after = credentialsPerTenant(next);
  for (const [tenantId, count] of before) {
    if (count > 0 && Object.hasOwn(next.tenants, tenantId) && !after.has(tenantId)) {
      issues.push({
        path: `tenants.${tenantId}`,
        message: `the change would revoke every API key and service token of tenant "${tenantId}" (it has ${count}); ${hint}`,
      });
    }
  }
  if (previous.platformAdminKeys.length > 0 && next.platformAdminKeys.length === 0) {
    issues.push({
      path: 'platformAdminKeys',
      message: `the change would revoke every platform-admin key (there are ${previous.platformAdminKeys.length}); ${hint}`,
    });
  }
  const total = (c: Config) => c.apiKeys.length + c.serviceTokens.length + c.platformAdminKeys.length;
  if (total(previous) > 0 && total(next) === 0 && issues.length === 0) {
    issues.push({ path: 'apiKeys', message: `the change would revoke every credential (there are ${total(previous)}); ${hint}` });
  }
  return issues;
}

function credentialsPerTenant(config: Config): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of [...config.apiKeys, ...config.serviceTokens]) counts.set(key.tenant, (counts.get(key.tenant) ?? 0) + 1);
  return counts;
}
