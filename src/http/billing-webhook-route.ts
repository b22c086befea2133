import type { FastifyInstance } from 'fastify';
import type { BillingEvents } from '../billing/webhook-events.js';
import { EventInProgressError } from '../billing/webhook-events.js';
import { stripeWebhooks, type StripeEvent } from '../billing/stripe-client.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { sendError } from './error-body.js';

/**
 * `POST /webhooks/billing`: Stripe's events, verified with `stripe.webhooks.constructEvent` on the
 * raw body (the signature covers the exact bytes, so this route reads them unparsed) within
 * `billing.webhookToleranceSeconds`. Answers: 200 once applied, replayed or deliberately not
 * applied (unknown price or customer: an alert says so); 400 INVALID_SIGNATURE with nothing
 * applied; 409 while the same event is being applied elsewhere; 503 when the store or Stripe
 * failed (Stripe retries for days); 404 without a configured endpoint secret.
 */
export function registerBillingWebhook(app: FastifyInstance, deps: { config: () => Config; events: BillingEvents; logger: Logger }): void {
  app.register(async (scope) => {
    // The raw bytes, whatever the content type says: verification needs them as sent. Bounded by
    // the server's bodyLimit (1 MiB by default; Stripe's events are a few KiB).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post('/webhooks/billing', async (request, reply) => {
      const { billing } = deps.config();
      if (!billing.webhookSecret) {
        return sendError(reply, 'NOT_FOUND', 'Billing webhooks are not configured: set billing.webhookSecret (or STRIPE_WEBHOOK_SECRET).');
      }
      const signature = request.headers['stripe-signature'];
      if (typeof signature !== 'string' || !Buffer.isBuffer(request.body)) {
        return sendError(reply, 'INVALID_SIGNATURE', 'A billing webhook needs a Stripe-Signature header and a body.');
      }
      let event: StripeEvent;
      try {
        event = stripeWebhooks.constructEvent(request.body, signature, billing.webhookSecret, billing.webhookToleranceSeconds);
      } catch (error) {
        // Stripe's message says which: no valid signature, or a timestamp outside the tolerance.
        return sendError(reply, 'INVALID_SIGNATURE', `Billing webhook refused, nothing applied: ${(error as Error).message.split('\n')[0]}`);
      }
      try {
        const outcome = await deps.events.handle(event);
        return reply.status(200).send({ received: true, ...outcome });
      } catch (error) {
        if (error instanceof EventInProgressError) return sendError(reply, 'EVENT_IN_PROGRESS', `${error.message}; retry later.`);
        deps.logger.warn({ err: (error as Error).message, eventId: event.id, type: event.type }, 'billing event failed; Stripe will retry it');
        reply.header('retry-after', '5');
        return sendError(reply, 'STORE_UNAVAILABLE', 'The billing event could not be applied now (store or Stripe unreachable); retry.', { eventId: event.id });
      }
    });
  });
}
