import type { PortalForecastFieldsFragment } from './generated/operations';
import { count, when } from './format';
import { gaugeState, windowLabel, type UsageWindow } from './limits';

export type ForecastEntry = PortalForecastFieldsFragment['forecast'][number];

export interface Warning {
  level: 'warn' | 'full';
  text: string;
}

/** The sentences of the warning banner: limits near or reached now, and quotas the forecast says will run out. */
export function warningsOf(windows: readonly UsageWindow[], forecasts: readonly ForecastEntry[]): Warning[] {
  const out: Warning[] = [];
  for (const w of windows) {
    const state = gaugeState(w);
    if (state === 'full')
      out.push({
        level: 'full',
        text: `${windowLabel(w)}: limit reached (${count(w.used)} of ${count(w.limit)}). Requests are refused until ${when(w.resetAt)}.`,
      });
    else if (state === 'warn')
      out.push({ level: 'warn', text: `${windowLabel(w)}: ${Math.floor((w.used / w.limit) * 100)}% used (${count(w.used)} of ${count(w.limit)}).` });
  }
  for (const f of forecasts) {
    if (!f.enoughHistory || f.limit == null || f.exhaustsAt == null || f.used >= f.limit) continue;
    out.push({
      level: 'warn',
      text: `At the current pace the ${periodName(f)} ${f.metric === 'requests' ? 'request quota' : 'cost budget'} runs out at ${when(f.exhaustsAt)} (projected ${count(f.projected)} of ${count(f.limit)}).`,
    });
  }
  return out;
}

export const periodName = (f: Pick<ForecastEntry, 'period'>) => (f.period === 'day' ? 'daily' : 'monthly');
