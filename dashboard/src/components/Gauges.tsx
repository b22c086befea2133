import { bytes, count, when } from '../format';
import { atLimitSentence, gaugeState, windowLabel, type UsageWindow } from '../limits';

const fmt = (w: UsageWindow, v: number) => (w.dimension === 'bandwidth' ? bytes(v) : count(v));

/** One gauge per limit window: used / limit, remaining, reset; amber at 80%, red at 100%. */
export function Gauges(props: { windows: UsageWindow[] }) {
  if (props.windows.length === 0) return <p>Your plan sets no limits that are counted in windows.</p>;
  return (
    <ul class="gauges">
      {props.windows.map((w) => {
        const state = gaugeState(w);
        const ratio = w.limit > 0 ? Math.min(1, w.used / w.limit) : 1;
        const label = windowLabel(w);
        return (
          <li class={`gauge gauge--${state}`} data-policy={w.policy} data-state={state} key={w.policy}>
            <div class="gauge__head">
              <span class="gauge__label">{label}</span>
              <span class="gauge__value">
                {fmt(w, w.used)} / {fmt(w, w.limit)}
              </span>
            </div>
            <div
              class="gauge__bar"
              role="meter"
              aria-label={label}
              aria-valuemin={0}
              aria-valuemax={w.limit}
              aria-valuenow={w.used}
              aria-valuetext={`${fmt(w, w.used)} of ${fmt(w, w.limit)} used`}
            >
              <div class="gauge__fill" style={{ width: `${(ratio * 100).toFixed(1)}%` }} />
            </div>
            <div class="gauge__meta">
              <span>{fmt(w, w.remaining)} remaining</span>
              <span>resets {when(w.resetAt)}</span>
              {state !== 'ok' && <strong class="gauge__flag">{state === 'full' ? 'Limit reached' : 'Near the limit'}</strong>}
            </div>
            <p class="gauge__note">{atLimitSentence(w)}</p>
          </li>
        );
      })}
    </ul>
  );
}
