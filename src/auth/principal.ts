import type { Role } from '../config/schema.js';

/**
 * Who is calling, as established from a verified credential. Nothing in here ever comes from a
 * header the client can set other than the bearer token itself.
 */
export type Principal =
  | {
      kind: 'apiKey';
      /** The API key's id from config (the "client"). */
      clientId: string;
      tenantId: string;
      planId: string;
      role: Role;
      /** Present for a publishable (browser-safe) key: what binds it. Absent: a secret key. */
      publishable?: PublishableRules;
    }
  | {
      /** Internal service token: bypasses plan limits (still metered). */
      kind: 'service';
      clientId: string;
      tenantId: string;
      planId: string;
      role: Role;
    }
  | {
      /** Platform operator: fleet-wide views, no tenant data. */
      kind: 'platformAdmin';
      clientId: string;
    };

export type TenantPrincipal = Extract<Principal, { tenantId: string }>;

export function hasTenant(principal: Principal): principal is TenantPrincipal {
  return principal.kind !== 'platformAdmin';
}

/** The bindings of a publishable key (config `publishableKeys[]`), checked on every request. */
export interface PublishableRules {
  allowedOrigins: readonly string[];
  /** `Query.products`, ...; null: every root field the role allows. */
  rootFields: ReadonlySet<string> | null;
  trustedDocumentsOnly: boolean;
  /** Requests per rolling minute per client address with this key, inside the plan's limits. */
  perIpPerMinute: number;
}
