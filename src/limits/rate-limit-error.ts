import { GatewayError } from '../errors/gateway-error.js';
import type { LimitDimension } from './dimensions.js';
import type { DimensionResult } from './store/types.js';

const DIMENSION_WORDS = {
  requests: 'requests',
  quota: 'requests',
  cost: 'cost points',
  bandwidth: 'response bytes',
  field: 'calls to',
} as const;

/** A plan as messages name it (its display name, `Free`) and as extensions and links carry it (its id, `free`). */
export interface PlanNames {
  planId: string;
  planName: string;
}

/** What a 429 says, as data: built without an error object where nothing is thrown (limits/local-refusals.ts). */
export interface RateLimitedDetails {
  message: string;
  retryAfterSeconds: number;
  /** `extensions` of the error, `code` included, without the HTTP status. */
  extensions: { code: 'RATE_LIMITED' } & Record<string, unknown>;
}

/**
 * HTTP 429 with everything a person needs to act: which plan, which limit, how long to wait,
 * and where the limits are documented.
 */
export function rateLimitedDetails(options: {
  planName: string;
  planId: string;
  dimension: LimitDimension;
  result: DimensionResult;
  documentationUrl: string;
}): RateLimitedDetails {
  const { dimension, result, planName } = options;
  const retryAfterSeconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
  const what =
    dimension.kind === 'field'
      ? `${DIMENSION_WORDS.field} ${dimension.policy} (${result.limit} per ${dimension.window})`
      : `${result.limit} ${DIMENSION_WORDS[dimension.kind]} per ${dimension.window}`;
  return {
    message: `Rate limit exceeded: the ${planName} plan allows ${what}. Retry in ${retryAfterSeconds} s.`,
    retryAfterSeconds,
    extensions: {
      code: 'RATE_LIMITED',
      plan: options.planId,
      dimension: dimension.kind,
      policy: dimension.policy,
      limit: result.limit,
      window: dimension.window,
      retryAfterSeconds,
      resetAt: new Date(result.resetAt).toISOString(),
      documentation: `${options.documentationUrl}#${options.planId}`,
    },
  };
}

/** The same 429 as an error, for GraphQL to answer (status and Retry-After in `extensions.http`). */
export function rateLimitedError(options: Parameters<typeof rateLimitedDetails>[0]): GatewayError {
  const { message, retryAfterSeconds, extensions } = rateLimitedDetails(options);
  const { code: _code, ...rest } = extensions;
  return new GatewayError('RATE_LIMITED', message, {
    extensions: { ...rest, http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) } },
  });
}

/** Fail-closed plan while the limit store is unreachable: refuse, briefly, rather than guess. */
export function limitsUnavailableError(plan: PlanNames, retryAfterSeconds: number, documentationUrl: string): GatewayError {
  const { planId } = plan;
  return new GatewayError(
    'RATE_LIMITED',
    `Limits cannot be checked right now and the ${plan.planName} plan is set to refuse in that case. Retry in ${retryAfterSeconds} s.`,
    {
      extensions: {
        plan: planId,
        dimension: 'unavailable',
        retryAfterSeconds,
        documentation: `${documentationUrl}#${planId}`,
        http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
      },
    },
  );
}

/** The estimate is over the plan's single-operation maximum: refused before anything is consumed. */
export function costLimitExceededError(
  over: { estimate: number; maximum: number; of: 'plan' | 'usage' },
  plan: PlanNames,
  documentationUrl: string,
): GatewayError {
  const { estimate, maximum } = over;
  const { planId } = plan;
  const allows =
    over.of === 'usage'
      ? `usage operations (free, whatever the plan) may cost at most ${maximum} (limits.usageMaxOperationCost). Ask for fewer history series or fewer aliases in one operation.`
      : `the ${plan.planName} plan allows at most ${maximum} per operation. Ask for fewer items (smaller \`first\`) or fewer fields.`;
  return new GatewayError('COST_LIMIT_EXCEEDED', `This operation is estimated to cost ${estimate} points; ${allows}`, {
    setHttpStatus: true,
    extensions: {
      estimate,
      maximum,
      plan: planId,
      ...(over.of === 'usage' ? { policy: 'usage-operation' } : {}),
      documentation: `${documentationUrl}#${planId}`,
    },
  });
}
