import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { ReplayReport } from '../components/ReplayReport';
import { PlanReplayDocument, ReplayPlansDocument, type PlanProposalInput, type PlanReplayQuery, type ReplayPlansQuery } from '../generated/operations';
import { hrefOf } from '../route';
import type { Session } from '../session';
import { ConsoleHeader } from './ConsoleHeader';

type Plan = ReplayPlansQuery['replayPlans'][number];

/** The limits the page edits, in the order shown; a blank field is "no limit". */
const LIMITS = [
  ['requestsPerMinute', 'Requests per minute'],
  ['requestsPerDay', 'Requests per day'],
  ['requestsPerMonth', 'Requests per month'],
  ['costPerMinute', 'Cost points per minute'],
  ['maxOperationCost', 'Max cost of one operation'],
  ['responseBytesPerHour', 'Response bytes per hour'],
  ['perIpPerMinute', 'Requests per minute per address'],
] as const;
type LimitName = (typeof LIMITS)[number][0];

const PERIODS = [
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
] as const;

/**
 * What if (README: Changing limits safely): edit one plan's limits, replay a recorded period
 * against them on the gateway (`planReplay`, bounded), and see who would be refused, by which
 * limit, from when, and how close each limit came. The same replay as `npm run simulate`.
 */
export function WhatIf(props: { session: Session; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const [plans, setPlans] = useState<Plan[] | null>(null);
  const [planId, setPlanId] = useState('');
  const [edited, setEdited] = useState<Record<LimitName, string>>(() => blank());
  const [period, setPeriod] = useState<string>('1h');
  const [result, setResult] = useState<PlanReplayQuery['planReplay'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);

  const choose = (plan: Plan) => {
    setPlanId(plan.id);
    setEdited(limitsOf(plan));
  };

  useEffect(() => {
    request(apiKey, ReplayPlansDocument).then(
      (data) => {
        setPlans(data.replayPlans);
        const first = data.replayPlans[0];
        if (first) {
          setPlanId(first.id);
          setEdited(limitsOf(first));
        }
      },
      (err: unknown) => setError(String(err instanceof Error ? err.message : err)),
    );
  }, [apiKey]);

  const run = async () => {
    const span = PERIODS.find(([id]) => id === period)![2];
    const to = new Date();
    const unlimited: string[] = [];
    const proposal: PlanProposalInput = { plan: planId, unlimited };
    for (const [name] of LIMITS) {
      const text = edited[name].trim();
      if (text === '') unlimited.push(name);
      else proposal[name] = Number(text);
    }
    setRunning(true);
    setError(null);
    try {
      const data = await request(apiKey, PlanReplayDocument, { from: new Date(to.getTime() - span).toISOString(), to: to.toISOString(), plans: [proposal] });
      setResult(data.planReplay);
    } catch (err) {
      setError(String(err instanceof Error ? err.message : err));
    } finally {
      setRunning(false);
    }
  };

  return (
    <main class="page">
      <ConsoleHeader onSignOut={props.onSignOut}>
        <a href={hrefOf({ page: 'fleet' })}>← Back to the fleet</a>
      </ConsoleHeader>
      {error && (
        <div class="banner banner--full" role="alert">
          <p class="error" data-testid="what-if-error">
            {error}
          </p>
        </div>
      )}
      <section class="card" aria-labelledby="proposal-title" data-panel="proposal">
        <h2 id="proposal-title">What if a plan's limits changed?</h2>
        <p class="muted">
          Replays the recorded requests of the period against the limits below, through the gateway's own limit decision. Other plans and tenants' own overrides
          stay as configured. A blank limit means no limit.
        </p>
        <form
          class="controls"
          onSubmit={(e) => {
            e.preventDefault();
            void run();
          }}
        >
          <label>
            Plan
            <select aria-label="Plan" value={planId} onChange={(e) => choose(plans!.find((p) => p.id === (e.target as HTMLSelectElement).value)!)}>
              {(plans ?? []).map((p) => (
                <option value={p.id} key={p.id}>
                  {p.displayName}
                </option>
              ))}
            </select>
          </label>
          <label>
            Period
            <select aria-label="Period" value={period} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value)}>
              {PERIODS.map(([id, label]) => (
                <option value={id} key={id}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          {LIMITS.map(([name, label]) => (
            <label key={name}>
              {label}
              <input
                aria-label={label}
                inputMode="numeric"
                size={10}
                value={edited[name]}
                onInput={(e) => setEdited({ ...edited, [name]: (e.target as HTMLInputElement).value })}
              />
            </label>
          ))}
          <button type="submit" disabled={running || !planId}>
            {running ? 'Replaying…' : 'Replay'}
          </button>
        </form>
      </section>
      {result && <ReplayReport replay={result} />}
    </main>
  );
}

/** A plan's limits as the form's text fields: blank for no limit. */
function limitsOf(plan: Plan): Record<LimitName, string> {
  return Object.fromEntries(LIMITS.map(([name]) => [name, plan[name] == null ? '' : String(plan[name])])) as Record<LimitName, string>;
}

function blank(): Record<LimitName, string> {
  return Object.fromEntries(LIMITS.map(([name]) => [name, ''])) as Record<LimitName, string>;
}
