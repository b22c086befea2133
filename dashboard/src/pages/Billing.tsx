import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { OpenBillingPortalDocument, PortalBillingDocument, StartCheckoutDocument } from '../generated/operations';
import { hrefOf } from '../route';
import type { Session } from '../session';
import { usePolling } from '../usePolling';

/** Where the plan in force comes from, in words. */
const SOURCE: Record<string, string> = {
  CONFIG: 'set by your operator',
  DEFAULT: 'the default plan',
  BILLING: 'your subscription',
  OVERRIDE: 'a temporary change by the platform team',
};

/** While an upgrade waits for Stripe's confirmation the page looks again every 2 s; otherwise every 30 s. */
const PENDING_POLL_MS = 2000;
const IDLE_POLL_MS = 30_000;

/**
 * The tenant's billing page: the plan in force and where it comes from, the plans on sale with an
 * Upgrade button (a Stripe Checkout Session), "upgrade pending" until the subscription event has
 * arrived, and a Manage billing link (Stripe's customer portal). Without a Stripe key on the
 * gateway it says what the operator has to configure.
 */
export function Billing(props: { session: Session; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const [pending, setPending] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const loaded = usePolling(async () => (await request(apiKey, PortalBillingDocument)).billing, [apiKey], pending ? PENDING_POLL_MS : IDLE_POLL_MS);
  const billing = loaded.data;
  const waiting = billing?.pendingUpgrade ?? null;
  // Poll faster while an upgrade is pending, so the new plan shows within seconds of the event.
  const isWaiting = Boolean(waiting);
  useEffect(() => setPending(isWaiting), [isWaiting]);

  const go = async (work: () => Promise<string>) => {
    setActionError(null);
    try {
      location.assign(await work());
    } catch (error) {
      setActionError((error as Error).message);
    }
  };
  const upgrade = (plan: string) => go(async () => (await request(apiKey, StartCheckoutDocument, { plan })).startCheckout!.url);
  const manage = () => go(async () => (await request(apiKey, OpenBillingPortalDocument)).openBillingPortal!.url);

  return (
    <main class="page">
      <header class="topbar">
        <h1>Plan and billing</h1>
        <a href={hrefOf({ page: 'usage' })}>Usage</a>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      {loaded.error && <p class="error">{loaded.error}</p>}
      {actionError && <p class="error">{actionError}</p>}
      {billing && (
        <section class="panel">
          <h2 data-testid="billing-plan">
            Your plan: {billing.plan.displayName} <small>({SOURCE[billing.plan.source] ?? billing.plan.source})</small>
          </h2>
          {billing.plan.expiresAt && <p>Until {new Date(billing.plan.expiresAt).toLocaleString()}.</p>}
          {billing.subscription?.status === 'past_due' && billing.subscription.graceUntil && (
            <p class="banner banner--warn">
              Your last payment failed. Your plan stays until {new Date(billing.subscription.graceUntil).toLocaleString()}; update your payment method.
            </p>
          )}
          {waiting && (
            <p class="banner banner--info" data-testid="upgrade-pending">
              Upgrade to {waiting.plan} pending: waiting for Stripe to confirm the payment (started {new Date(waiting.since).toLocaleTimeString()}).
            </p>
          )}
          {billing.setup && (
            <p class="banner banner--info" data-testid="billing-setup">
              {billing.setup}
            </p>
          )}
          <table>
            <tbody>
              {billing.offers.map((offer) => (
                <tr key={offer.plan}>
                  <th>{offer.displayName}</th>
                  <td>{offer.price}</td>
                  <td>
                    {offer.current ? (
                      'Current plan'
                    ) : (
                      <button type="button" disabled={Boolean(billing.setup) || Boolean(waiting)} onClick={() => void upgrade(offer.plan)}>
                        Upgrade
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {!billing.setup && billing.subscription && (
            <p>
              <button type="button" onClick={() => void manage()}>
                Manage billing
              </button>
            </p>
          )}
        </section>
      )}
    </main>
  );
}
