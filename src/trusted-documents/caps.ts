import type { Config } from '../config/schema.js';

/** How much of the store one tenant may hold. */
export interface TrustedDocumentCaps {
  /** Documents registered at once. */
  maxDocuments: number;
  /** Bytes of all its documents together, as stored (`storedBytes`). */
  maxBytes: number;
}

/** The caps in force for a tenant, and the config key each comes from (what an operator raises). */
export interface TenantDocumentCaps extends TrustedDocumentCaps {
  /** Bytes one document may take as stored. */
  maxDocumentBytes: number;
  keys: Record<keyof TrustedDocumentCaps | 'maxDocumentBytes', string>;
}

/** What a tenant holds in the store: documents and their bytes as stored. */
export interface DocumentHoldings {
  count: number;
  bytes: number;
}

/**
 * The caps of a tenant on `planId` (its plan in force, a runtime plan override included): the
 * plan's `trustedDocuments` where it sets them, else the top-level `trustedDocuments`.
 */
export function capsOf(config: Config, planId: string): TenantDocumentCaps {
  const own = config.plans[planId]?.trustedDocuments ?? {};
  const pick = (name: keyof TrustedDocumentCaps) =>
    own[name] === undefined
      ? { value: config.trustedDocuments[name], key: `trustedDocuments.${name}` }
      : { value: own[name], key: `plans.${planId}.trustedDocuments.${name}` };
  const maxDocuments = pick('maxDocuments');
  const maxBytes = pick('maxBytes');
  return {
    maxDocuments: maxDocuments.value,
    maxBytes: maxBytes.value,
    maxDocumentBytes: config.trustedDocuments.maxDocumentBytes,
    keys: { maxDocuments: maxDocuments.key, maxBytes: maxBytes.key, maxDocumentBytes: 'trustedDocuments.maxDocumentBytes' },
  };
}

/**
 * Whether a tenant may go from `before` to `after`: refused when either count passes its cap and
 * grows. A tenant already above a lowered cap may still register a document again (its record
 * replaced, nothing added) but not add to what is above the cap.
 */
export function admits(before: DocumentHoldings, after: DocumentHoldings, caps: TrustedDocumentCaps): boolean {
  const over = (now: number, next: number, max: number) => next > max && next > now;
  return !over(before.count, after.count, caps.maxDocuments) && !over(before.bytes, after.bytes, caps.maxBytes);
}
