import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { SignInDocument } from '../generated/operations';
import type { Session } from '../session';

/**
 * Sign-in by API key. The key is checked with a free `usage` query: a tenant key answers, a
 * platform-admin key is refused with FORBIDDEN (it has no tenant) and opens the console.
 */
export function SignIn(props: { onSignedIn: (session: Session) => void }) {
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const key = apiKey.trim();
    if (!key) return setError('Enter an API key.');
    setBusy(true);
    setError(null);
    try {
      await request(key, SignInDocument);
      props.onSignedIn({ apiKey: key, kind: 'tenant' });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'FORBIDDEN') props.onSignedIn({ apiKey: key, kind: 'platform' });
      else setError(err instanceof ApiError && err.code === 'UNAUTHENTICATED' ? 'That API key is not valid.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <h1>API usage dashboard</h1>
      <p>Sign in with any API key of your tenant to see your limits, usage and history. Platform-admin keys open the platform console.</p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={apiKey}
          onInput={(e) => setApiKey((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="hint">The key is kept in this tab's session storage only and is sent to the gateway as a bearer token.</p>
    </main>
  );
}
