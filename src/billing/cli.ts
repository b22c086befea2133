/**
 * Sends a signed Stripe subscription event to a running gateway, as Stripe would after a
 * checkout, so the demo shows an upgrade happen without a Stripe account:
 *
 *   npm run billing:event -- --tenant acme --plan pro [--status active] [--cancel] [--url http://127.0.0.1:4000]
 *
 * It reads the gateway's config (CONFIG_PATH, default the demo config) for the webhook secret
 * (or STRIPE_WEBHOOK_SECRET) and the price that sells the plan, and the URL from --url, else
 * PORT / server.port. Prints the gateway's answer; exit code 1 when it was not a 200.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEMO_CONFIG_PATH } from '../config/demo.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { stripeWebhooks } from './stripe-client.js';

const USAGE =
  'usage: npm run billing:event -- --tenant <id> --plan <plan> [--status active|trialing|past_due|unpaid|incomplete] [--cancel] [--url <gateway url>]';
const STATUSES = ['active', 'trialing', 'past_due', 'unpaid', 'incomplete', 'incomplete_expired', 'paused'];

/** An error the user can fix: printed as it is, without a stack. */
class CliError extends Error {}

function priceOf(config: Config, planId: string): string {
  const found = Object.entries(config.billing.prices).find(([, price]) => price.plan === planId);
  if (!found) {
    const sold = [...new Set(Object.values(config.billing.prices).flatMap((p) => (p.plan ? [p.plan] : [])))];
    throw new CliError(`no price in billing.prices sells plan "${planId}"; plans with a price: ${sold.join(', ') || 'none'}`);
  }
  return found[0];
}

/** The event Stripe sends when the demo subscription of `tenant` changes: one subscription per tenant, items of the plan's price. */
function subscriptionEvent(tenant: string, priceId: string, status: string, cancel: boolean) {
  const subscription = {
    id: `sub_demo_${tenant}`,
    object: 'subscription',
    customer: `cus_demo_${tenant}`,
    status: cancel ? 'canceled' : status,
    metadata: { tenant },
    items: { object: 'list', data: [{ id: `si_demo_${tenant}`, object: 'subscription_item', price: { id: priceId, object: 'price' } }] },
  };
  return {
    id: `evt_demo_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    api_version: '2025-01-01',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: cancel ? 'customer.subscription.deleted' : 'customer.subscription.updated',
    data: { object: subscription },
  };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      plan: { type: 'string' },
      status: { type: 'string', default: 'active' },
      cancel: { type: 'boolean', default: false },
      url: { type: 'string' },
    },
    strict: true,
  });
  if (!values.tenant || !values.plan) throw new CliError(`--tenant and --plan are required\n${USAGE}`);
  if (!STATUSES.includes(values.status)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}: "${values.status}"`);
  const config = await loadConfigFile(process.env.CONFIG_PATH ?? DEMO_CONFIG_PATH);
  if (!Object.hasOwn(config.tenants, values.tenant))
    throw new CliError(`unknown tenant "${values.tenant}"; tenants: ${Object.keys(config.tenants).join(', ')}`);
  const secret = config.billing.webhookSecret;
  if (!secret) throw new CliError('the config has no billing.webhookSecret (nor STRIPE_WEBHOOK_SECRET): the gateway would refuse the event');
  const event = subscriptionEvent(values.tenant, priceOf(config, values.plan), values.status, values.cancel);
  const payload = JSON.stringify(event);
  const url = `${values.url ?? `http://127.0.0.1:${config.server.port}`}/webhooks/billing`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': stripeWebhooks.generateTestHeaderString({ payload, secret }) },
    body: payload,
  }).catch((error: Error) => {
    throw new CliError(`cannot reach the gateway at ${url} (is \`npm start\` running?): ${error.message}`);
  });
  const answer = await response.text();
  console.log(
    `${event.type} ${event.id} for ${values.tenant} (${values.cancel ? 'cancelled' : `${values.plan}, ${values.status}`}) -> ${response.status} ${answer}`,
  );
  if (response.status !== 200) process.exitCode = 1;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof CliError || error instanceof ConfigError ? error.message : String((error as Error).stack ?? error);
  console.error(message);
  process.exitCode = 1;
});
