import type { GatewayContext } from '../graph/context.js';

/** The label every page shows over the demo's made-up history. */
export function syntheticHistoryOf(ctx: GatewayContext) {
  if (!ctx.synthetic) return null;
  const from = new Date(ctx.synthetic.from).toISOString();
  const to = new Date(ctx.synthetic.to).toISOString();
  return { from, to, note: `Demo data: the history from ${from} to ${to} is synthetic, made up when this gateway started (config demo.backfillDays).` };
}
