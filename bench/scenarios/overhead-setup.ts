/**
 * The `overhead` scenario's two gateway configurations, as patches of `config/demo.yaml`
 * (shared with bench/overhead-profile.ts, which profiles a gateway in either).
 */

/**
 * Every feature the config can switch off, off: no plan limits (so no check, no lease, no
 * early check), no field cache, no metering, no fair admission. Authentication, the origin check
 * and the rest of the door cannot be switched off: they are what this variant measures.
 */
export const featuresOff = (config: Record<string, any>) => {
  for (const plan of Object.values(config.plans) as Record<string, any>[]) plan.limits = {};
  config.limits = { ...(config.limits ?? {}), earlyCheck: false };
  config.cache = { ...(config.cache ?? {}), enabled: false };
  config.usage = { ...(config.usage ?? {}), enabled: false };
  config.admission = { ...(config.admission ?? {}), enabled: false };
};

/**
 * The demo config as shipped (limits leased, early check, cache, metering, admission), but
 * initech's minute limits out of the bench's reach (10,000 a minute would refuse it in seconds),
 * as the `limits` scenario's `limits on`.
 */
export const defaultConfig = (config: Record<string, any>) => {
  const enterprise = config.plans.enterprise.limits;
  enterprise.requestsPerMinute = 100_000_000;
  enterprise.costPerMinute = 1_000_000_000;
};
