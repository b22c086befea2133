import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { sha256Hex } from '../config/hash.js';
import type { Principal } from './principal.js';

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: 'missing' | 'malformed' | 'invalid' };

/** Bearer tokens are opaque; this bounds the work done on garbage headers. */
const MAX_TOKEN_LENGTH = 512;

interface Credential {
  hash: Buffer;
  principal: Principal;
}

/**
 * One config's credentials, and the tokens already verified against them. A token is hashed and
 * compared once per config object, not per request (a SHA-256 and a comparison per credential
 * was a visible share of a cheap request): a reload is a new config object, so a revoked key
 * stops working at once. Only tokens that matched are remembered, so the map holds at most one
 * entry per credential (a SHA-256 preimage each) and garbage tokens cannot grow it. Looking a
 * token up by value does not undo the constant-time comparison: V8 compares string contents only
 * on an equal (per-process, randomly seeded) hash and length, which a caller cannot aim at.
 */
interface Credentials {
  list: Credential[];
  verified: Map<string, AuthResult & { ok: true }>;
  /** The same, by the whole header `Bearer <token>`. */
  verifiedHeaders: Map<string, AuthResult & { ok: true }>;
}

/**
 * Maps `Authorization: Bearer <token>` to a principal. Config holds only SHA-256 hashes; the
 * presented token is hashed and compared against every configured hash with `timingSafeEqual`,
 * without stopping at the first match, so the time taken does not tell how far down the list
 * the key is. The credential list is rebuilt only when the config object changes (hot reload).
 */
export function createAuthenticator(getConfig: () => Config) {
  const byConfig = new WeakMap<Config, Credentials>();

  function credentials(config: Config): Credentials {
    let known = byConfig.get(config);
    if (!known) {
      known = { list: buildCredentials(config), verified: new Map(), verifiedHeaders: new Map() };
      byConfig.set(config, known);
    }
    return known;
  }

  function authenticate(header: string | undefined): AuthResult {
    if (!header) return { ok: false, reason: 'missing' };
    // The header as clients send it (`Bearer <token>`), looked up before it is parsed: on every request.
    const known = credentials(getConfig());
    const sent = known.verifiedHeaders.get(header);
    if (sent) return sent;
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim());
    if (!match || match[1]!.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
    const token = match[1]!;
    const remembered = known.verified.get(token);
    if (remembered) return remembered;

    const presented = Buffer.from(sha256Hex(token), 'hex');
    let found: Principal | null = null;
    for (const credential of known.list) {
      if (timingSafeEqual(presented, credential.hash) && !found) found = credential.principal;
    }
    if (!found) return { ok: false, reason: 'invalid' };
    const result = { ok: true, principal: found } as const;
    known.verified.set(token, result);
    // Only the canonical spelling: other spellings of a valid token (spaces, case) would let one key grow the map.
    known.verifiedHeaders.set(`Bearer ${token}`, result);
    return result;
  }

  return { authenticate };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

function buildCredentials(config: Config): Credential[] {
  // Config validation guarantees every key's tenant exists.
  const planOf = (tenantId: string) => config.tenants[tenantId]!.plan;
  return [
    ...config.apiKeys.map((k) => ({
      hash: Buffer.from(k.sha256, 'hex'),
      principal: { kind: 'apiKey', clientId: k.id, tenantId: k.tenant, planId: planOf(k.tenant), role: k.role } as const,
    })),
    ...config.serviceTokens.map((t) => ({
      hash: Buffer.from(t.sha256, 'hex'),
      principal: { kind: 'service', clientId: t.id, tenantId: t.tenant, planId: planOf(t.tenant), role: t.role } as const,
    })),
    ...config.publishableKeys.map((k) => ({
      hash: Buffer.from(k.sha256, 'hex'),
      principal: {
        kind: 'apiKey',
        clientId: k.id,
        tenantId: k.tenant,
        planId: planOf(k.tenant),
        role: k.role,
        publishable: {
          allowedOrigins: k.allowedOrigins,
          rootFields: k.rootFields ? new Set(k.rootFields) : null,
          trustedDocumentsOnly: k.trustedDocumentsOnly,
          perIpPerMinute: k.perIpPerMinute,
        },
      } as const,
    })),
    ...config.platformAdminKeys.map((a) => ({
      hash: Buffer.from(a.sha256, 'hex'),
      principal: { kind: 'platformAdmin', clientId: a.id } as const,
    })),
  ];
}
