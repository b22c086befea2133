import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes, so the gateway serves one page for all of them and nothing about the session is
 * in the path: `#/usage` (tenant portal), `#/fleet` (platform console), `#/fleet/tenant/<id>`
 * (a tenant's portal as the platform team sees it), `#/fleet/calibration` (cost calibration), `#/fleet/audit` (the audit trail), `#/fleet/shadow` (shadow limits), `#/fleet/what-if` (replay against a proposed plan), `#/billing` (the tenant's plan and billing). The API key is never part of a route.
 */
export type Route =
  | { page: 'home' }
  | { page: 'usage' }
  | { page: 'billing' }
  | { page: 'fleet' }
  | { page: 'fleet-tenant'; tenantId: string }
  | { page: 'calibration' }
  | { page: 'audit' }
  | { page: 'shadow' }
  | { page: 'what-if' };

export function parseRoute(hash: string): Route {
  // Stripe Checkout returns to `#/billing?checkout=success`: the query is not part of the route.
  const path = hash.replace(/^#/, '').split('?')[0]!;
  if (path === '/usage') return { page: 'usage' };
  if (path === '/billing') return { page: 'billing' };
  if (path === '/fleet') return { page: 'fleet' };
  if (path === '/fleet/calibration') return { page: 'calibration' };
  if (path === '/fleet/audit') return { page: 'audit' };
  if (path === '/fleet/shadow') return { page: 'shadow' };
  if (path === '/fleet/what-if') return { page: 'what-if' };
  const tenant = /^\/fleet\/tenant\/([^/]+)$/.exec(path);
  if (tenant) return { page: 'fleet-tenant', tenantId: decodeURIComponent(tenant[1]!) };
  return { page: 'home' };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'home':
      return '#/';
    case 'usage':
      return '#/usage';
    case 'billing':
      return '#/billing';
    case 'fleet':
      return '#/fleet';
    case 'fleet-tenant':
      return `#/fleet/tenant/${encodeURIComponent(route.tenantId)}`;
    case 'calibration':
      return '#/fleet/calibration';
    case 'audit':
      return '#/fleet/audit';
    case 'shadow':
      return '#/fleet/shadow';
    case 'what-if':
      return '#/fleet/what-if';
  }
}

export function navigate(route: Route): void {
  location.hash = hrefOf(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
