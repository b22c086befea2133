import { request } from './api';
import { PortalHistoryDocument, PortalNowDocument, type PortalHistoryQuery, type PortalNowQuery } from './generated/operations';
import { DEFAULT_SELECTION, historyVariables, type HistorySelection } from './history';
import { parseRoute } from './route';
import { loadSession } from './session';

type HistoryVariables = ReturnType<typeof historyVariables>;

interface PortalPrefetch {
  apiKey: string;
  now: Promise<PortalNowQuery> | null;
  history: { variables: HistoryVariables; data: Promise<PortalHistoryQuery> } | null;
}

/**
 * The tenant portal's first data, requested when this module is evaluated: before the first
 * render, whose effects would only start the requests a frame (or, on a busy machine, a few
 * dozen ms) after the page is drawn. The live windows and the default history go out in
 * parallel; the portal takes each once (`takePrefetchedNow`, `takePrefetchedHistory`) and
 * polls by itself from then on. Nothing is requested without a tenant session, or on a
 * platform route (where App shows no portal).
 */
const prefetch: PortalPrefetch | null = start();

function start(): PortalPrefetch | null {
  const session = loadSession();
  const route = parseRoute(location.hash);
  if (session?.kind !== 'tenant' || (route.page !== 'usage' && route.page !== 'home')) return null;
  const variables = historyVariables(DEFAULT_SELECTION);
  return {
    apiKey: session.apiKey,
    now: quiet(request(session.apiKey, PortalNowDocument)),
    history: { variables, data: quiet(request(session.apiKey, PortalHistoryDocument, variables)) },
  };
}

/** The prefetched live windows for `apiKey`, once; null when there are none (then ask). */
export function takePrefetchedNow(apiKey: string): Promise<PortalNowQuery> | null {
  if (!prefetch || prefetch.apiKey !== apiKey) return null;
  const now = prefetch.now;
  prefetch.now = null;
  return now;
}

/**
 * The prefetched history for `apiKey` with the variables it was asked with, once, and only for
 * the selection it was asked for (the default one).
 */
export function takePrefetchedHistory(apiKey: string, selection: HistorySelection): PortalPrefetch['history'] {
  if (!prefetch || prefetch.apiKey !== apiKey || !isDefault(selection)) return null;
  const history = prefetch.history;
  prefetch.history = null;
  return history;
}

const isDefault = (s: HistorySelection) => s.range === DEFAULT_SELECTION.range && s.granularity === DEFAULT_SELECTION.granularity && s.filter === null;

/**
 * The same promise, marked handled: a failure is reported by whoever takes it (the page shows
 * the gateway's message), and one never taken (the user signed out first) is not an
 * unhandled rejection.
 */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
