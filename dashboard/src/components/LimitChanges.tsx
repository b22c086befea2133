import { useState } from 'preact/hooks';
import { request } from '../api';
import { ClearTenantLimitsDocument, ConsoleLimitsDocument, SetTenantLimitsDocument, type TenantLimitsInput } from '../generated/operations';
import { count, when } from '../format';
import { usePolling } from '../usePolling';

const NUMBER_FIELDS = [
  ['requestsPerMinute', 'Requests per minute'],
  ['requestsPerDay', 'Requests per day'],
  ['requestsPerMonth', 'Requests per month'],
  ['costPerMinute', 'Cost points per minute'],
] as const;

/** Temporary limit increases and plan changes (setTenantLimits with expiry), the overrides in force, and the audit list. */
export function LimitChanges(props: { apiKey: string }) {
  const [version, setVersion] = useState(0);
  const limits = usePolling(async () => request(props.apiKey, ConsoleLimitsDocument), [props.apiKey, version], 30_000);
  const [form, setForm] = useState<{ tenantId: string; plan: string; expiresInMinutes: string } & Record<(typeof NUMBER_FIELDS)[number][0], string>>({
    tenantId: '',
    plan: '',
    expiresInMinutes: '60',
    requestsPerMinute: '',
    requestsPerDay: '',
    requestsPerMonth: '',
    costPerMinute: '',
  });
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const data = limits.data;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!form.tenantId) return setMessage({ error: true, text: 'Choose a tenant.' });
    const input: TenantLimitsInput = {};
    if (form.plan) input.plan = form.plan;
    for (const [field] of NUMBER_FIELDS) if (form[field] !== '') input[field] = Number(form[field]);
    if (form.expiresInMinutes !== '') input.expiresInSeconds = Math.round(Number(form.expiresInMinutes) * 60);
    try {
      const res = await request(props.apiKey, SetTenantLimitsDocument, { tenantId: form.tenantId, input });
      setMessage({
        error: false,
        text: `Limits of ${form.tenantId} changed${res.setTenantLimits?.expiresAt ? ` until ${when(res.setTenantLimits.expiresAt)}` : ' until cleared'}.`,
      });
      setVersion((v) => v + 1);
    } catch (err) {
      setMessage({ error: true, text: (err as Error).message });
    }
  };
  const clear = async (tenantId: string) => {
    try {
      await request(props.apiKey, ClearTenantLimitsDocument, { tenantId });
      setMessage({ error: false, text: `Runtime limits of ${tenantId} cleared.` });
      setVersion((v) => v + 1);
    } catch (err) {
      setMessage({ error: true, text: (err as Error).message });
    }
  };
  const name = (id: string) => data?.fleetUsage.directory.find((t) => t.id === id)?.displayName ?? id;
  // Plans by display name (ids as values): the directory knows the name of each tenant's plan.
  const planNames = new Map(data?.fleetUsage.directory.map((t) => [t.plan, t.planName]) ?? []);
  const planName = (id: string) => planNames.get(id) ?? id;
  const plans = [...planNames.keys()].sort((a, b) => planName(a).localeCompare(planName(b)));

  return (
    <section class="card" aria-labelledby="limits-title" data-panel="limit-changes">
      <h2 id="limits-title">Temporary limit changes</h2>
      {limits.error && (
        <p class="error" role="alert">
          {limits.error}
        </p>
      )}
      <form class="controls" onSubmit={submit} aria-label="Change a tenant's limits">
        <label>
          Tenant
          <select aria-label="Tenant" value={form.tenantId} onChange={(e) => setForm({ ...form, tenantId: (e.target as HTMLSelectElement).value })}>
            <option value="">Choose…</option>
            {data?.fleetUsage.directory.map((t) => (
              <option value={t.id} key={t.id}>
                {t.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          Move to plan
          <select aria-label="Move to plan" value={form.plan} onChange={(e) => setForm({ ...form, plan: (e.target as HTMLSelectElement).value })}>
            <option value="">(keep)</option>
            {plans.map((p) => (
              <option value={p} key={p}>
                {planName(p)}
              </option>
            ))}
          </select>
        </label>
        {NUMBER_FIELDS.map(([field, label]) => (
          <label key={field}>
            {label}
            <input
              aria-label={label}
              type="number"
              min="0"
              step="1"
              class="narrow"
              value={form[field]}
              onInput={(e) => setForm({ ...form, [field]: (e.target as HTMLInputElement).value })}
            />
          </label>
        ))}
        <label>
          Expires in (minutes)
          <input
            aria-label="Expires in (minutes)"
            type="number"
            min="1"
            step="1"
            class="narrow"
            value={form.expiresInMinutes}
            onInput={(e) => setForm({ ...form, expiresInMinutes: (e.target as HTMLInputElement).value })}
          />
        </label>
        <button type="submit" class="primary">
          Apply
        </button>
      </form>
      {message && (
        <p class={message.error ? 'error' : 'ok'} role="status">
          {message.text}
        </p>
      )}
      {data && (
        <>
          <h3>In force</h3>
          {data.tenantLimitOverrides.length === 0 ? (
            <p class="muted">No runtime changes: every tenant has its configured limits.</p>
          ) : (
            <table class="data" data-table="overrides">
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Plan</th>
                  <th scope="col">Per minute</th>
                  <th scope="col">Per day</th>
                  <th scope="col">Per month</th>
                  <th scope="col">Cost / min</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Set by</th>
                  <th scope="col">
                    <span class="visually-hidden">Clear</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.tenantLimitOverrides.map((o) => (
                  <tr key={o.tenantId}>
                    <th scope="row">{name(o.tenantId)}</th>
                    <td>{o.plan ? planName(o.plan) : '–'}</td>
                    <td>{count(o.requestsPerMinute)}</td>
                    <td>{count(o.requestsPerDay)}</td>
                    <td>{count(o.requestsPerMonth)}</td>
                    <td>{count(o.costPerMinute)}</td>
                    <td>{o.expiresAt ? when(o.expiresAt) : 'until cleared'}</td>
                    <td>{o.setBy}</td>
                    <td>
                      <button type="button" class="link" onClick={() => clear(o.tenantId)} aria-label={`Clear the runtime limits of ${name(o.tenantId)}`}>
                        Clear
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Audit: who changed what, and when</h3>
          {data.fleetUsage.limitChanges.length === 0 ? (
            <p class="muted">No changes yet.</p>
          ) : (
            <table class="data" data-table="audit">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Tenant</th>
                  <th scope="col" class="text">
                    Change
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.fleetUsage.limitChanges.map((c) => (
                  // The audit list has no ids: who changed which tenant, and when (to the millisecond), tells rows apart.
                  <tr key={`${c.at} ${c.by} ${c.tenantId} ${c.action}`}>
                    <th scope="row">{when(c.at)}</th>
                    <td>{c.by}</td>
                    <td>{name(c.tenantId)}</td>
                    <td class="text">{describe(c)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

function describe(c: { action: string; plan: string | null; limits: { name: string; value: number }[]; expiresAt: string | null }): string {
  if (c.action === 'clear') return 'cleared runtime limits';
  const parts = [...(c.plan ? [`plan ${c.plan}`] : []), ...c.limits.map((l) => `${l.name} ${count(l.value)}`)];
  return `set ${parts.join(', ') || 'nothing'}${c.expiresAt ? ` until ${when(c.expiresAt)}` : ' until cleared'}`;
}
