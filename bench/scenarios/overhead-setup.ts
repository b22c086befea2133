import { request } from 'undici';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import type { LoadTarget } from '../load.js';
import type { ServerUnderTest } from '../measure.js';

/**
 * What the `overhead` scenario sends and the gateway configurations it compares (patches of
 * `config/demo.yaml`), shared with the `runtime` scenario and bench/overhead-profile.ts.
 */

/**
 * Every feature the config can switch off, off: no plan limits (so no check, no lease, no
 * early check), no field cache, no metering, no fair admission, no cost calibration (the demo
 * config samples one response in ten). Authentication, the origin check, pricing and the rest of
 * the door cannot be switched off: they are what this variant measures.
 */
export const featuresOff = (config: Record<string, any>) => {
  for (const plan of Object.values(config.plans) as Record<string, any>[]) plan.limits = {};
  config.limits = { ...(config.limits ?? {}), earlyCheck: false };
  config.cache = { ...(config.cache ?? {}), enabled: false };
  config.usage = { ...(config.usage ?? {}), enabled: false };
  config.admission = { ...(config.admission ?? {}), enabled: false };
  config.calibration = { ...(config.calibration ?? {}), enabled: false };
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

/** The closest query the bare server answers the same: one field of the caller, no downstream call. */
export const OVERHEAD_QUERY = '{ viewer { clientId } }';
const EXPECTED_PREFIX = '{"data":{"viewer":{"clientId":"initech-admin"}}';
/** The exact data and no error; `extensions` (the cost report) may follow on the gateway. */
const hasExpectedData = (text: string) => text.startsWith(EXPECTED_PREFIX) && !text.includes('"errors"');
export const OVERHEAD_TARGET: Omit<LoadTarget, 'origin'> = {
  path: '/graphql',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` },
  body: JSON.stringify({ query: OVERHEAD_QUERY }),
  isSuccess: hasExpectedData,
};

/** One request: 200 with the expected data and no error, before anything is measured. */
export async function probe(server: ServerUnderTest): Promise<void> {
  const response = await request(`${server.url}/graphql`, { method: 'POST', headers: OVERHEAD_TARGET.headers, body: OVERHEAD_TARGET.body });
  const text = await response.body.text();
  if (response.statusCode !== 200 || !hasExpectedData(text))
    throw new Error(`${server.name}: expected 200 with ${EXPECTED_PREFIX}..., got ${response.statusCode} ${text}`);
}
