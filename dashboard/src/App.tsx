import { useState } from 'preact/hooks';
import { clearSession, loadSession, saveSession, type Session } from './session';
import { navigate, useRoute } from './route';
import { SignIn } from './pages/SignIn';
import { Portal } from './pages/Portal';

export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const route = useRoute();

  const signOut = () => {
    clearSession();
    setSession(null);
    navigate({ page: 'home' });
  };

  if (!session) {
    return (
      <SignIn
        onSignedIn={(next) => {
          saveSession(next);
          setSession(next);
          navigate(next.kind === 'tenant' ? { page: 'usage' } : { page: 'fleet' });
        }}
      />
    );
  }
  if (session.kind === 'tenant') {
    if (route.page !== 'usage') {
      // Platform routes are not for tenant keys: the API refuses them anyway; show the portal.
      navigate({ page: 'usage' });
    }
    return <Portal session={session} onSignOut={signOut} />;
  }
  return <PlatformPlaceholder onSignOut={signOut} />;
}

function PlatformPlaceholder(props: { onSignOut: () => void }) {
  return (
    <main class="page">
      <header class="topbar">
        <h1>Platform console</h1>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <p>The platform console is not built yet.</p>
    </main>
  );
}
