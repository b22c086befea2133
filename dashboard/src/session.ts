/**
 * The signed-in API key lives in sessionStorage only: gone when the tab closes, never in a URL,
 * a cookie or localStorage, and never logged. Nothing else about the key is stored.
 */
const KEY = 'usage-dashboard.api-key';
const KIND = 'usage-dashboard.kind';

export type SessionKind = 'tenant' | 'platform';

export interface Session {
  apiKey: string;
  kind: SessionKind;
}

export function loadSession(): Session | null {
  const apiKey = sessionStorage.getItem(KEY);
  const kind = sessionStorage.getItem(KIND);
  if (!apiKey || (kind !== 'tenant' && kind !== 'platform')) return null;
  return { apiKey, kind };
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, session.apiKey);
  sessionStorage.setItem(KIND, session.kind);
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(KIND);
}
