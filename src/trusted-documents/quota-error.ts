import { GatewayError } from '../errors/gateway-error.js';
import type { TenantDocumentCaps } from './caps.js';
import type { PutOutcome } from './store.js';

/**
 * The refusal of a registration that would pass a cap: which cap, what the tenant holds and what
 * the registration would have made it, and the two ways out. The extensions carry the numbers,
 * so a tool can show where the tenant stands.
 */
export function quotaExceeded(tenantId: string, outcome: PutOutcome, caps: TenantDocumentCaps): GatewayError {
  const { before, after } = outcome;
  const passed: string[] = [];
  const raise: string[] = [];
  if (after.count > caps.maxDocuments && after.count > before.count) {
    passed.push(`${after.count} documents, above its cap of ${caps.maxDocuments}`);
    raise.push(caps.keys.maxDocuments);
  }
  if (after.bytes > caps.maxBytes && after.bytes > before.bytes) {
    passed.push(`${after.bytes} bytes, above its cap of ${caps.maxBytes}`);
    raise.push(caps.keys.maxBytes);
  }
  return new GatewayError(
    'TRUSTED_DOCUMENTS_QUOTA_EXCEEDED',
    `No document was registered: tenant "${tenantId}" holds ${before.count} trusted documents taking ${before.bytes} bytes, and this registration would make it ${passed.join(' and ')}. ` +
      `Remove documents the app no longer sends (removeTrustedDocuments), or ask the gateway operator to raise ${raise.join(' and ')}.`,
    {
      extensions: {
        count: before.count,
        bytes: before.bytes,
        maxDocuments: caps.maxDocuments,
        maxBytes: caps.maxBytes,
        countAfter: after.count,
        bytesAfter: after.bytes,
      },
    },
  );
}
