/**
 * The parent values of types whose fields resolve lazily, named in codegen.ts's `mappers`. Their
 * own file, importing nothing: the generated resolver types import them, and every resolver map
 * imports the generated types (a parent type declared in a resolver map made an import cycle).
 */

/**
 * The dashboard's parent value: nothing. Every field reads the recent orders through the request's
 * `recentOrders` loader (fetched at most once per request however many fields ask), so the field
 * cache sees when they were fetched, as it does for every loader (a memo held here would hide it).
 */
export type DashboardParent = Record<string, never>;

/** `Usage` and `FleetUsage` resolve their fields lazily: the parent carries nothing. */
export type UsageParent = Record<string, never>;

/** `fleetUsage.tenant(tenantId)`: the tenant the platform admin drilled into. */
export interface FleetTenantParent {
  tenantId: string;
}
