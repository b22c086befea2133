import type { FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { ConfigSource } from '../config/source.js';
import type { PlanLimits, ShadowSpec } from '../config/schema.js';
import { describeListSize, schemaLimits } from '../limits/schema-limits.js';
import { offersOf } from '../billing/checkout.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** A sentence with `code` spans (describeListSize's), escaped, with the spans as <code>. */
const renderCode = (s: string) => escapeHtml(s).replace(/`([^`]+)`/g, '<code>$1</code>');

const LIMIT_ROWS: [keyof PlanLimits, string][] = [
  ['requestsPerMinute', 'Requests per rolling minute'],
  ['requestsPerDay', 'Requests per calendar day'],
  ['requestsPerMonth', 'Requests per calendar month'],
  ['costPerMinute', 'Cost points per rolling minute'],
  ['maxOperationCost', 'Maximum cost of one operation'],
  ['responseBytesPerHour', 'Response bytes per rolling hour'],
  ['perClientShare', 'Share of the minute one API key may use'],
  ['perIpPerMinute', 'Requests per rolling minute from one IP'],
];

function show(value: PlanLimits[keyof PlanLimits]): string {
  if (value === undefined) return 'not limited';
  if (value === 'unlimited') return 'unlimited';
  if (typeof value === 'number') return value.toLocaleString('en-US');
  return Object.entries(value)
    .map(([field, rule]) => `${field}: ${rule.limit} per ${rule.windowSeconds} s`)
    .join('<br>');
}

/** A plan's change in shadow (`plans.<id>.shadow`): the plan or values evaluated, never enforced. */
function shadowRow(shadow: ShadowSpec | undefined): string {
  if (!shadow) return '';
  const values = LIMIT_ROWS.filter(([key]) => shadow.limits[key] !== undefined).map(([key, label]) => `${label}: ${show(shadow.limits[key])}`);
  const what = [shadow.plan ? `the plan <a href="#${escapeHtml(shadow.plan)}"><code>${escapeHtml(shadow.plan)}</code></a>` : '', ...values]
    .filter((v) => v !== '')
    .join('; ');
  return `<tr><th>In shadow (evaluated, not enforced: <a href="#changes">how limits change</a>)</th><td>${what}</td></tr>`;
}

/**
 * `GET /docs/limits`: the plans and every field's cost, list size and rate limit, rendered from
 * the live config and schema on each request. The `documentation` link of every 429 points here
 * (`#<plan>` and `#fields`).
 */
export function registerLimitsDocs(app: FastifyInstance, options: { schema: GraphQLSchema; configSource: ConfigSource }): void {
  app.get('/docs/limits', async (_request, reply) => {
    const config = options.configSource.current();
    const plans = Object.entries(config.plans)
      .map(([id, plan]) => {
        const rows = [...LIMIT_ROWS, ['fieldLimits', 'Per root field'] as [keyof PlanLimits, string]]
          .map(([key, label]) => `<tr><th>${label}</th><td>${show(plan.limits[key])}</td></tr>`)
          .join('');
        const price = offersOf(config).find((o) => o.planId === id)?.displayPrice;
        return `<section id="${escapeHtml(id)}"><h3>${escapeHtml(plan.displayName)} <code>${escapeHtml(id)}</code>${price ? ` (${escapeHtml(price)})` : ''}</h3>
<table>${rows}<tr><th>When the limit store is unreachable</th><td>${plan.onStoreFailure === 'open' ? "served, with this instance's share of each limit" : 'refused (429)'}</td></tr>${shadowRow(plan.shadow)}</table></section>`;
      })
      .join('\n');
    const fields = schemaLimits(options.schema)
      .map((f) => {
        const size = f.listSize ? renderCode(describeListSize(f.listSize)) : '';
        const rate = f.rateLimit ? `${f.rateLimit.limit} per ${f.rateLimit.duration} s per tenant` : '';
        return `<tr><td><code>${escapeHtml(f.coordinate)}</code></td><td>${escapeHtml(f.cost ?? 'default')}</td><td>${size}</td><td>${rate}</td></tr>`;
      })
      .join('\n');
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>API limits</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;margin-bottom:1rem}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}</style></head><body>
<h1>API limits</h1>
<p>Every operation is priced before it runs (IBM GraphQL cost directive semantics: a field costs its weight, 1 for objects and 0 for scalars by default, times how many times it can run) and checked against the caller's plan. Every response carries <code>extensions.cost</code> and the headers <code>X-RateLimit-Limit</code>, <code>X-RateLimit-Remaining</code>, <code>X-RateLimit-Reset</code> (tightest request window) and <code>RateLimit-Policy</code> / <code>RateLimit</code> (every policy). Over a limit the answer is HTTP 429 with <code>Retry-After</code> and an error coded <code>RATE_LIMITED</code>; an operation above the plan's single-operation maximum is refused with HTTP 400, <code>COST_LIMIT_EXCEEDED</code>, before anything runs. Send the header <code>x-cost-dry-run: 1</code> to get the price without running the operation.</p>
<p>Rolling windows never admit more than the limit: in no window of the stated length (the last 60 s, say) are more requests admitted than the limit, across every gateway instance. The price of keeping memory small is that a window may refuse a little early: by at most what was admitted in one 2-second slice (for a minute; one minute for an hour) just outside it. Under saturating traffic you get the whole limit; under steady overload about 98% of it. A busy tenant's requests may be decided a little ahead, in small batches reserved by each gateway instance (at most 1% of a limit each, used within 1 s, none once less than a quarter of the limit is left): near a limit another instance may then refuse up to 1 s early, and <code>X-RateLimit-Remaining</code> may not yet show the last second of other instances' traffic. Nothing is ever admitted beyond the limit. <code>Retry-After</code> and reset times never exceed the window. Calendar quotas reset at midnight in the tenant's time zone (UTC unless set).</p>
<p>Service tokens and platform-admin keys are not rate limited: their responses carry <code>X-RateLimit-Exempt</code> (<code>service-token</code>, <code>platform-admin</code>) instead of the headers above. Failed authentications are limited per client address (a 401 or 429 carries the <code>auth-failures</code> policy); a valid key is never refused because of them.</p>
<h2>Plans</h2>
<p>The plan you are on, and where it comes from (your own plan, the default plan, your subscription, or a temporary change by the platform team), is in <code>viewer { tenant { plan { id source expiresAt } } }</code> and <code>usage { limits }</code>.${config.defaultPlan ? ` Tenants that name no plan of their own are on <a href="#${escapeHtml(config.defaultPlan)}">${escapeHtml(config.plans[config.defaultPlan]?.displayName ?? config.defaultPlan)}</a>.` : ''}</p>
${plans}
<h2 id="changes">How a limit change is rolled out</h2>
<p>A change to a plan's limits is never switched on blind. It goes through four steps:</p>
<ol>
<li><strong>Shadow.</strong> The new limits are deployed <em>in shadow</em>: every request is also checked against them, in the same limit check, and nothing else happens. A shadow never refuses, delays or changes a request, a response or a header. A plan with a change in shadow says so above (“In shadow”).</li>
<li><strong>Look.</strong> The platform team sees, per tenant and API key, which requests the new limits would have refused, by which limit, since when and until when (the console's Shadow limits page, <code>fleetUsage.shadowLimits</code>, the metric <code>limit_shadow_refusals_total</code>).</li>
<li><strong>Replay.</strong> Recorded traffic of a past period (a week, say) is replayed against the proposed plan through the real limit check (<code>npm run simulate -- --plan &lt;file&gt; --from &lt;time&gt; --to &lt;time&gt;</code>): who would have been refused, from when, and how much headroom is left.</li>
<li><strong>Promote.</strong> One audited change makes the shadow limits the enforced ones, on every gateway instance within seconds. From then on the headers and errors above report them.</li>
</ol>
<h2 id="fields">Field costs and limits</h2>
<table><tr><th>Field</th><th>Cost weight</th><th>List size</th><th>Rate limit</th></tr>
${fields}
</table></body></html>`;
    return reply.type('text/html; charset=utf-8').send(html);
  });
}
