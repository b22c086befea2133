import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { planLimitsSchema, type Config, type PlanLimits } from '../config/schema.js';

/**
 * A proposed plan, as an operator writes it: the plans to change, by id, each with the limits that
 * change. Limits are laid over the plan's current ones (as a tenant's `overrides` are): name only
 * what changes; `unlimited` removes a limit. One plan may also be given alone: `{ plan, limits }`.
 *
 *   plans:
 *     free:
 *       limits: { requestsPerMinute: 50, costPerMinute: 500 }
 */
export type ProposedPlans = Readonly<Record<string, PlanLimits>>;

/** A proposal that cannot be used; the message names the bad part. */
export class ProposalError extends Error {}

const plansFile = z.strictObject({ plans: z.record(z.string(), z.strictObject({ limits: planLimitsSchema })) });
const onePlan = z.strictObject({ plan: z.string(), limits: planLimitsSchema });

/** Parses a plans file (YAML or JSON text, JSON being YAML) and checks every plan exists in `config`. */
export function parseProposedPlans(text: string, source: string, config: Config): ProposedPlans {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ProposalError(`${source} is not YAML or JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const many = plansFile.safeParse(value);
  const one = many.success ? null : onePlan.safeParse(value);
  const plans = many.success ? mapValues(many.data.plans, (p) => p.limits) : one?.success ? { [one.data.plan]: one.data.limits } : null;
  if (!plans) {
    const issues = (many.error?.issues ?? []).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ProposalError(`${source} is not a plans file ({ plans: { <id>: { limits } } } or { plan, limits }):\n  ${issues.join('\n  ')}`);
  }
  return checkedPlans(plans, source, config);
}

/** Checks that each proposed plan exists: replay changes limits, it cannot invent a plan no tenant is on. */
export function checkedPlans(plans: Record<string, PlanLimits>, source: string, config: Config): ProposedPlans {
  const ids = Object.keys(plans);
  if (ids.length === 0) throw new ProposalError(`${source} proposes no plan`);
  for (const id of ids) {
    if (!Object.hasOwn(config.plans, id))
      throw new ProposalError(`${source} names plan "${id}", which the config does not have (plans: ${Object.keys(config.plans).join(', ')})`);
  }
  return Object.freeze(plans);
}

/** The config with the proposed limits laid over their plans' (everything else as it is). */
export function configWithProposal(config: Config, proposal: ProposedPlans): Config {
  const plans = { ...config.plans };
  for (const [id, limits] of Object.entries(proposal)) {
    const plan = plans[id]!;
    const fieldLimits = { ...plan.limits.fieldLimits, ...limits.fieldLimits };
    plans[id] = { ...plan, limits: { ...plan.limits, ...limits, ...(Object.keys(fieldLimits).length > 0 ? { fieldLimits } : {}) } };
  }
  return { ...config, plans };
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}
