/**
 * Every error code a client can see in `errors[].extensions.code`, with the HTTP status the
 * gateway answers when that error decides the whole response (a field-level error inside a
 * partial result leaves the status at 200, as GraphQL over HTTP says).
 */
export const ERROR_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_REQUEST: 400,
  /**
   * The request's browser origin may not use this key (or any key): a publishable key from a page
   * it does not name or without an Origin, a secret key from a page its tenant has not allowed.
   */
  ORIGIN_NOT_ALLOWED: 403,
  /** A publishable key asked for a root field outside its `rootFields`. */
  OPERATION_NOT_ALLOWED: 403,
  /** A key bound to trusted documents sent a query text instead of a registered document id. */
  TRUSTED_DOCUMENT_REQUIRED: 403,
  /** The document id is not registered for the key's tenant. */
  TRUSTED_DOCUMENT_NOT_FOUND: 400,
  BAD_USER_INPUT: 400,
  /** The document is past `server.documentLimits` (tokens, depth, aliases, directives, repeated response keys): refused before it is validated. */
  DOCUMENT_TOO_COMPLEX: 400,
  /**
   * A trusted-document registration would take the tenant past its cap of documents or bytes;
   * nothing of it was registered. 400 as other refused input: retrying the same does not help,
   * removing documents or a larger cap does. Extensions: `count`, `bytes`, `maxDocuments`, `maxBytes`.
   */
  TRUSTED_DOCUMENTS_QUOTA_EXCEEDED: 400,
  NOT_FOUND: 404,
  /** A billing webhook whose `Stripe-Signature` does not verify, or is older than `billing.webhookToleranceSeconds`: nothing was applied. */
  INVALID_SIGNATURE: 400,
  /** The same billing event is being applied by another request right now; Stripe's retry finds it done. */
  EVENT_IN_PROGRESS: 409,
  /** A console replay (What if) is already running on this instance: one at a time, each bounded (src/replay/plan-replay.ts). */
  REPLAY_IN_PROGRESS: 409,
  /** Checkout or the customer portal was asked for, but no Stripe key is configured (`billing.secretKey` / STRIPE_SECRET_KEY). */
  BILLING_NOT_CONFIGURED: 501,
  /** Stripe could not be reached or refused the call; `Retry-After` says when to try again. */
  BILLING_UNAVAILABLE: 502,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /**
   * A GET to /graphql without `apollo-require-preflight` (or `x-apollo-operation-name`): refused so
   * that a page on another site cannot run operations with a visitor's credentials (CSRF); the
   * message says what to send.
   */
  PREFLIGHT_REQUIRED: 400,
  /**
   * This instance is saturated and the request could not get its turn in time (or its queue was
   * full): nothing of it ran; `Retry-After` says when to try again (src/admission/).
   */
  OVERLOADED: 503,
  /** Over a plan limit; the error's extensions say which, and until when. */
  RATE_LIMITED: 429,
  /** The operation's estimated cost is above the plan's single-operation maximum. */
  COST_LIMIT_EXCEEDED: 400,
  /** The operation cannot be priced as asked, e.g. two slicing arguments where @listSize wants one. */
  COST_ANALYSIS_FAILED: 400,
  /**
   * A store the answer depends on (Redis: usage history, runtime limit overrides) cannot be
   * reached; `Retry-After` says when to try again. Inside a partial result the status stays 200.
   */
  STORE_UNAVAILABLE: 503,
  DOWNSTREAM_UNAVAILABLE: 502,
  /**
   * A downstream service's calls could not get a slot in time: its queue was full (for everyone,
   * or for this tenant), the call was shed for a more urgent one, or the wait would have passed
   * the call's deadline. `extensions.reason` says which, `retryAfterSeconds` when to try again.
   * Nothing is wrong with the request; the gateway is protecting the service and other tenants.
   * Like the other downstream errors it nulls the field; 503 with `Retry-After` when nothing else
   * could be served.
   */
  DOWNSTREAM_OVERLOADED: 503,
  DOWNSTREAM_TIMEOUT: 504,
  INTERNAL_SERVER_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
