import { useState } from 'preact/hooks';
import { clearSession, loadSession, saveSession, type Session } from './session';
import { navigate, useRoute } from './route';
import { SignIn } from './pages/SignIn';
import { Portal } from './pages/Portal';
import { Billing } from './pages/Billing';
import { Console } from './pages/Console';
import { FleetTenant } from './pages/FleetTenant';
import { Calibration } from './pages/Calibration';
import { AuditTrail } from './pages/AuditTrail';
import { ShadowLimits } from './pages/ShadowLimits';
import { WhatIf } from './pages/WhatIf';

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
  // Platform pages render for any key: the API decides, and a tenant key is refused there.
  if (route.page === 'fleet') return <Console session={session} onSignOut={signOut} />;
  if (route.page === 'calibration') return <Calibration session={session} onSignOut={signOut} />;
  if (route.page === 'audit') return <AuditTrail session={session} onSignOut={signOut} />;
  if (route.page === 'shadow') return <ShadowLimits session={session} onSignOut={signOut} />;
  if (route.page === 'what-if') return <WhatIf session={session} onSignOut={signOut} />;
  if (route.page === 'fleet-tenant') return <FleetTenant session={session} tenantId={route.tenantId} onSignOut={signOut} />;
  if (session.kind === 'tenant' && route.page === 'billing') return <Billing session={session} onSignOut={signOut} />;
  if (session.kind === 'tenant') return <Portal session={session} onSignOut={signOut} />;
  return <Console session={session} onSignOut={signOut} />;
}
