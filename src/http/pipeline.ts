import type { ApolloServerPlugin, GraphQLRequestContextDidResolveOperation, GraphQLRequestListener } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DocumentNode, FormattedExecutionResult, FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { Authenticator } from '../auth/authenticator.js';
import { hasTenant, type Principal, type TenantPrincipal } from '../auth/principal.js';
import type { FieldCache } from '../cache/field-cache.js';
import { reportCache } from '../cache/cache-response.js';
import type { Config } from '../config/schema.js';
import type { CostAnalyzer } from '../cost/analyzer.js';
import { dryRunAnswer } from '../cost/dry-run.js';
import { priceOperation, reportCost } from '../cost/pricing.js';
import type { CallTrace } from '../downstream/call-context.js';
import type { Downstream } from '../downstream/downstream.js';
import { createDownstreamWaits, downstreamServerTiming, reportDownstreamWaits } from '../downstream/waits.js';
import { reportThrottle } from '../limits/throttle-report.js';
import type { AnsweredOperation } from '../calibration/recorder.js';
import { storeUnavailableStatus } from '../errors/store-unavailable.js';
import { downstreamOverloadedStatus } from '../errors/downstream-overloaded.js';
import type { GatewayContext } from '../graph/context.js';
import { logUnexpectedErrors } from '../graph/error-masking.js';
import { lazyLoaders } from '../graph/lazy-loaders.js';
import { createPersistedQueries } from '../graph/persisted-queries.js';
import { requestErrorStatus } from '../graph/request-error-status.js';
import type { OperationFacts, RequestState } from '../graph/request-state.js';
import type { AuthGuard } from '../limits/auth-guard.js';
import type { EarlyCheck, EarlyChecks } from '../limits/early-check.js';
import type { FailedRequests } from '../limits/failed-requests.js';
import { answerFailed, type FailedAnswer, type LimitGate } from '../limits/limit-gate.js';
import type { LocalRefusal, LocalRefusals } from '../limits/local-refusals.js';
import type { Adjustment } from '../limits/store/types.js';
import { rootFieldsOf } from '../limits/root-fields.js';
import type { Logger } from '../observability/logger.js';
import type { TrustedDocuments } from '../trusted-documents/registry.js';
import { responseErrors } from '../usage/capture.js';
import type { UsageEvent } from '../usage/event.js';
import { authenticateHook } from './authenticate-hook.js';
import { countedRefusal, type RefuseAtDoor } from './counted-refusal.js';
import type { DoorStep } from './door-steps.js';
import { documentBoundsHook } from './document-bounds-hook.js';
import { documentPolicyHook } from './document-policy-hook.js';
import { localRefusalHook } from './local-refusal-hook.js';
import { createFrontDoor, type FrontDoor, type FrontDoorDeps } from './front-door.js';
import { createRefusalHold, type LocalRefusalDoor } from './remembered-refusal.js';
import { admissionHook, type AdmissionEvent } from './admission-hook.js';
import type { Admission } from '../admission/admission.js';
import { originHook } from './origin-hook.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The GraphQL request's state (graph/request-state.ts) once it has one, for the after-response steps. */
    gatewayState?: RequestState;
    /** The limit check sent at the door for this request, until the limit decision claims it. */
    earlyLimitCheck?: EarlyCheck;
    /** Size of the response body, bytes. */
    responseBytes?: number;
  }
}

/** What happens to a request on `/graphql`, stage by stage; http/server.ts registers it. */
export interface RequestPipeline {
  /** Fastify `onRequest` steps, in order: before the body is read (http/door-steps.ts runs them as one hook). */
  onRequest: DoorStep[];
  /** Fastify `preHandler` steps, in order: the body is read, Apollo has not seen it. */
  preHandler: DoorStep[];
  /** The request's state (its first stage) and GraphQL context, as Apollo takes the request. */
  context(request: FastifyRequest): GatewayContext;
  /** Inside Apollo: one plugin whose hooks run the steps in order. */
  apolloPlugin: ApolloServerPlugin<GatewayContext>;
  /** Fastify `onSend`, `onResponse`: after Apollo. */
  onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): void;
  /**
   * Step 14 for a request whose client left while it ran (the handler calls it once the
   * operation is done): no response will be written, so Fastify's `onResponse` never comes.
   */
  clientGone(request: FastifyRequest): void;
  onResponse(request: FastifyRequest, statusCode: number): void;
  /** A body Fastify could not read (413, 415, 400) is a request refused at the door, counted like the others. */
  refuseAtDoor: RefuseAtDoor;
  /**
   * Refusals from memory before Fastify (front-door.ts), given what only the server knows;
   * absent with tracing on (every request then goes through the traced route).
   */
  frontDoor?: (server: FrontDoorServer) => FrontDoor;
}

export interface PipelineDeps {
  config: () => Config;
  logger: Logger;
  authenticator: Authenticator;
  authGuard: AuthGuard;
  refusals: LocalRefusals;
  /** Told of each refusal answered from memory at the door (metrics). */
  onLocalRefusal?: (principal: TenantPrincipal, refusal: LocalRefusal, door: LocalRefusalDoor) => void;
  failedRequests: FailedRequests;
  trustedDocuments: TrustedDocuments;
  /** Absent: no limit check is sent at the door (`limits.earlyCheck: false`). */
  earlyChecks?: EarlyChecks;
  downstream: Downstream;
  /** Tracing (tracing/): binds the request's trace to its state; the trace its downstream calls follow. Absent: off. */
  bindTrace?: (request: FastifyRequest, state: RequestState) => CallTrace | undefined;
  /** Long-lived services every request's context carries (limit overrides, usage reads, ...). */
  services: Pick<
    GatewayContext,
    | 'overrides'
    | 'shadows'
    | 'limitsView'
    | 'usage'
    | 'audit'
    | 'health'
    | 'synthetic'
    | 'trustedDocuments'
    | 'calibration'
    | 'checkout'
    | 'meteredBilling'
    | 'replay'
  >;
  /** The request record's operation book (record/operation-book.ts): told what each request priced; absent when the record is off. */
  onPriced?: (
    state: RequestState,
    request: { document: DocumentNode; operationName: string | undefined; variables: Record<string, unknown> | undefined },
  ) => void;
  /** Cost calibration (calibration/): told of each priced, executed request with its data; absent when off. */
  calibrate?: (answered: AnsweredOperation) => void;
  /** May the caller run this operation at all (auth/publishable-policy.ts): throws the refusal. */
  admit: (principal: Principal, operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>) => void;
  analyzer: CostAnalyzer;
  limits: LimitGate;
  fieldCache: FieldCache;
  /** Fair admission at the door (admission/); absent: requests go straight on (`admission.enabled: false`). */
  admission?: { admission: Admission; planOf: (tenantId: string) => string; onOutcome?: (event: AdmissionEvent) => void };
  /** Meters a finished request (usage/capture.ts `requestMetering`); its event, null when there is none. */
  meter: (state: RequestState, response: { bytes: number; statusCode: number }) => UsageEvent | null;
  /** Told of every metered request (request metrics), with the settle its charge was sent (the request record stamps when it lands). */
  onMetered?: (event: UsageEvent, state: RequestState, settle: readonly Adjustment[]) => void;
}

/**
 * The request path of a GraphQL request, in the order it runs. Each step belongs to a room and is
 * called here; the request state (graph/request-state.ts) carries what each stage established to
 * the next: `accepted` -> `operation`, `priced` -> `decided` -> `answered`.
 *
 * Front door (front-door.ts, before Fastify): most refusals from memory, answered as step 3 would
 * Door (Fastify, before Apollo; each may answer the request itself):
 *   onRequest   1. authenticate: the principal, or 401 / 429 for failed attempts (auth/, limits/auth-guard.ts)
 *               2. origin: a key used from an origin it may not be (auth/origin-policy.ts): 403
 *   preHandler  3. local refusal: a caller the limit store refused moments ago, 429 from memory (limits/local-refusals.ts)
 *               4. document bounds: a document too big to validate, 400 (graph/document-bounds.ts)
 *               5. trusted documents: an id replaced by its text; a key bound to them: 403 (trusted-documents/)
 *               5b. admission: the request waits for its turn, the tenant's own share first, then the instance's
 *                   fair queue; 429 over its own share, 503 when the instance cannot run it in time (admission/)
 *               6. early limit check: sent for an operation text seen before, not awaited (limits/early-check.ts)
 *   handler     7. accepted: the request state and the GraphQL context
 * Apollo (one plugin; Apollo parses and validates between 8 and 9):
 *   requestDidStart       8. a hash-only request gets its text from the caller's APQ registrations (graph/persisted-queries.ts)
 *   didResolveOperation   9. the operation gate, in sequence: admit (auth/publishable-policy.ts), price (cost/pricing.ts),
 *                            decide (limits/limit-gate.ts); a refusal is thrown and nothing executes
 *   responseForOperation 10. a dry run is answered with its price instead of executing (cost/dry-run.ts)
 *   didEncounterErrors   11. unexpected errors logged; a request answered before the gate counted (limits/failed-requests.ts)
 *   willSendResponse     12. actual cost and extensions.cost (cost calibration observes it); a failed request's 429 (a held one's extensions.throttle); cache report; downstream waits; errors noted;
 *                            STORE_UNAVAILABLE's and DOWNSTREAM_OVERLOADED's 503; GraphQL-over-HTTP status of request errors
 * After Apollo (Fastify):
 *   onSend     13. response size; downstream waits in Server-Timing (the server also adds rate-limit headers to an authenticated response without them)
 *   onResponse 14. the admission slot given back; an unclaimed early check refunded; the charge settled (limits); the request metered (usage);
 *                  for a request whose client left while it ran, the same once it is done (`clientGone`, called by the handler)
 */
export function createRequestPipeline(deps: PipelineDeps): RequestPipeline {
  const { config, limits, earlyChecks } = deps;
  const refuseAtDoor = countedRefusal({ failedRequests: deps.failedRequests, config });
  const documentBounds = documentBoundsHook({ bounds: () => config().server.documentLimits, refuse: refuseAtDoor });
  const persistedQueries = createPersistedQueries();

  const refusalHold = createRefusalHold();
  const decisionHeader = () => config().limits.decisionHeader;
  const refusalDelayMs = () => config().limits.localRefusalDelayMs;

  // 1, 2
  const onRequest: DoorStep[] = [authenticateHook(deps.authenticator, deps.authGuard), originHook(config)];
  // 3, 4, 5, 6
  const preHandler: DoorStep[] = [
    localRefusalHook({
      refusals: deps.refusals,
      ...(deps.onLocalRefusal ? { onRefused: deps.onLocalRefusal } : {}),
      knownRootFields: (request) => documentBounds.knownRootFields(request),
      decisionHeader,
      delayMs: refusalDelayMs,
      hold: refusalHold,
    }),
    documentBounds.hook,
    documentPolicyHook({ documents: deps.trustedDocuments, refuse: refuseAtDoor }),
    // 5b
    ...(deps.admission ? [admissionHook({ ...deps.admission, config, knownRootFields: (request) => documentBounds.knownRootFields(request) })] : []),
  ];
  if (earlyChecks) {
    preHandler.push((request) => {
      request.earlyLimitCheck = earlyChecks.start(request) ?? undefined;
    });
  }

  // 7
  const shared = sharedContext(deps);

  function context(request: FastifyRequest): GatewayContext {
    const principal = request.principal;
    if (!principal) throw new Error('/graphql reached Apollo without a principal: the authenticate hook must run first');
    const waits = hasTenant(principal) ? createDownstreamWaits() : undefined;
    const ip = request.ip; // a getter (trust proxy): read once
    // Absent fields as undefined rather than conditional spreads: a spread is V8's slow path, on every request.
    const state: RequestState = {
      accepted: { principal, ip, startedAt: Date.now(), earlyCheck: request.earlyLimitCheck, downstreamWaits: waits },
    };
    request.gatewayState = state;
    const trace = deps.bindTrace?.(request, state);
    const share = request.downstreamShare;
    const context = Object.create(shared) as GatewayContext;
    context.requestId = request.id;
    context.principal = principal;
    context.ip = ip;
    context.config = config();
    context.downstreamShare = share ?? null;
    context.downstreamTrace = trace;
    context.loaders = hasTenant(principal)
      ? lazyLoaders(deps.downstream, {
          tenantId: principal.tenantId,
          requestId: request.id,
          weight: share?.weight,
          priority: share?.priority,
          plan: share?.plan,
          waits,
          trace,
        })
      : null;
    context.state = state;
    return context;
  }

  const listeners = operationListeners(deps);

  const apolloPlugin: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart({ request, contextValue }) {
      // 8
      persistedQueries.resolve(request, contextValue.state.accepted.principal);
      return listeners;
    },
  };

  return {
    onRequest,
    preHandler,
    context,
    apolloPlugin,
    // 13
    onSend(request, reply, payload) {
      const state = request.gatewayState;
      if (!state) return;
      request.responseBytes = typeof payload === 'string' || Buffer.isBuffer(payload) ? Buffer.byteLength(payload) : 0;
      const timing = downstreamServerTiming(state.accepted.downstreamWaits);
      if (timing) {
        const earlier = reply.getHeader('server-timing');
        reply.header('server-timing', earlier ? `${String(earlier)}, ${timing}` : timing);
      }
    },
    // 14
    onResponse(request, statusCode) {
      release(request);
      const state = request.gatewayState;
      if (state) finish(state, request.responseBytes ?? 0, statusCode);
    },
    clientGone(request) {
      release(request);
      const state = request.gatewayState;
      // Charged and run, nothing sent: metered as nginx logs it, 499 (the client closed the request).
      if (state) finish(state, 0, CLIENT_CLOSED_REQUEST);
    },
    refuseAtDoor,
    ...(deps.bindTrace
      ? {}
      : {
          frontDoor: (server: FrontDoorServer) =>
            createFrontDoor(frontDoorDeps(deps, server, { hold: refusalHold, rootFieldsOfText: documentBounds.rootFieldsOfText, finish })),
        }),
  };

  /** What a request holds until its response: its admission (a slot, or its place while it waits) and its early check. */
  function release(request: FastifyRequest): void {
    earlyChecks?.release(request.earlyLimitCheck);
    request.heldAdmission?.release();
  }

  /** After the response of a request with a state: its charge settled (limits), then metered (usage). */
  function finish(state: RequestState, bytes: number, statusCode: number): void {
    const settle = limits.settle(state, state.answered?.actualCost ?? null, bytes);
    const event = deps.meter(state, { bytes, statusCode });
    if (event) deps.onMetered?.(event, state, settle);
  }
}

/** nginx's status for a request whose client closed the connection before the response. */
const CLIENT_CLOSED_REQUEST = 499;

/** What only the server knows, for the front door. */
type FrontDoorServer = Pick<FrontDoorDeps, 'trustProxy' | 'requestId' | 'draining'>;

/** The front door's parts: the server's, the pipeline's own (shared with the hook: the hold, the root fields, the finish step), and its deps'. */
function frontDoorDeps(deps: PipelineDeps, server: FrontDoorServer, own: Pick<FrontDoorDeps, 'hold' | 'rootFieldsOfText' | 'finish'>): FrontDoorDeps {
  const { config } = deps;
  return {
    ...server,
    ...own,
    authenticator: deps.authenticator,
    refusals: deps.refusals,
    logger: deps.logger,
    bodyLimit: () => config().server.bodyLimitBytes,
    delayMs: () => config().limits.localRefusalDelayMs,
    decisionHeader: () => config().limits.decisionHeader,
    ...(deps.onLocalRefusal ? { onRefused: deps.onLocalRefusal } : {}),
  };
}

/**
 * What every request's context shares: the long-lived services, once, as the prototype of each
 * request's context. Apollo copies a context's own properties for every operation
 * (`cloneObject` in ApolloServer.js, for batching), keeping its prototype: with these as own
 * properties that copy was a visible share of a cheap request's CPU.
 */
function sharedContext(deps: PipelineDeps): Pick<GatewayContext, keyof PipelineDeps['services'] | 'downstream' | 'logger'> {
  const { services } = deps;
  return {
    downstream: deps.downstream,
    logger: deps.logger,
    overrides: services.overrides,
    shadows: services.shadows,
    limitsView: services.limitsView,
    usage: services.usage,
    audit: services.audit,
    health: services.health,
    synthetic: services.synthetic,
    trustedDocuments: services.trustedDocuments,
    calibration: services.calibration,
    checkout: services.checkout,
    meteredBilling: services.meteredBilling,
    replay: services.replay,
  };
}

/**
 * Steps 9 to 12, inside Apollo: one listener object for every request, each hook reading its
 * request from the context, so a request costs no closures here (four per request were visible
 * in a profile).
 */
function operationListeners(deps: PipelineDeps): GraphQLRequestListener<GatewayContext> {
  const { logger, limits } = deps;
  /** Step 11's charge of a request answered before the gate, for step 12 to put on the response (rare: a WeakMap, not a field of every request). */
  const failedAnswers = new WeakMap<RequestState, FailedAnswer>();

  return {
    // 9: admit, then price, then decide, each awaited before the next.
    async didResolveOperation(rc) {
      const { operation, document, contextValue } = rc;
      if (!operation) return; // execution reports the missing or ambiguous operation
      const { state } = contextValue;
      const { principal, ip } = state.accepted;
      const facts = operationFactsOf(rc.schema, document, operation, rc.operationName ?? null);
      // First, so that an operation the key may not run is charged only as a failed request (11).
      deps.admit(principal, operation, facts.fragments);
      state.operation = facts.operation;
      state.priced = priceOperation(deps.analyzer, document, rc.request);
      deps.onPriced?.(state, { document, operationName: rc.request.operationName, variables: rc.request.variables });
      // On the estimate just made; over a limit is a result, thrown here as the 429.
      const decision = await limits.decide({
        config: contextValue.config,
        principal,
        ip,
        earlyCheck: state.accepted.earlyCheck,
        priced: state.priced,
        resolved: { document, operation, fragments: facts.fragments, rootFields: facts.rootFields, name: facts.operation.name },
        request: { query: rc.request.query, operationName: rc.request.operationName, variables: rc.request.variables ?? {} },
        setHeader: (header, value) => rc.response.http.headers.set(header, value),
        narrow: (reduced) => narrow(rc, reduced, facts.fragments),
        key: state,
      });
      if (!decision) return;
      state.decided = decision.verdict;
      if (decision.refusal) throw decision.refusal;
    },

    // 10
    async responseForOperation({ contextValue }) {
      return contextValue.state.priced?.dryRun ? dryRunAnswer() : null;
    },

    // 11
    async didEncounterErrors({ errors, contextValue }) {
      logUnexpectedErrors(logger, errors, contextValue.requestId);
      const { state } = contextValue;
      // Priced: it reached the limit decision (whose refusals, and execution errors, land here too).
      if (state.priced || failedAnswers.has(state)) return;
      const failed = await limits.chargeFailed(contextValue.config, state.accepted.principal, state.accepted.ip);
      if (!failed) return;
      failedAnswers.set(state, failed);
      state.decided = failed.verdict;
    },

    // 12, in this order: a failed request's 429 replaces the body, which the cache report and
    // the errors noted then describe; the statuses are set last, from the final body.
    async willSendResponse({ document, request, response, contextValue }) {
      const { state } = contextValue;
      if (response.body.kind === 'single') response.body.singleResult = ofStableShape(response.body.singleResult);
      let actualCost: number | null = null;
      if (state.priced && document && response.body.kind === 'single') {
        const onError = (err: unknown) => logger.error({ err, requestId: contextValue.requestId }, 'actual cost failed');
        const budget = state.decided?.costBudget ?? null;
        actualCost = reportCost({ analyzer: deps.analyzer, priced: state.priced, budget, document, request, result: response.body.singleResult, onError });
        if (deps.calibrate && actualCost !== null) {
          const { data } = response.body.singleResult;
          deps.calibrate({
            document,
            operationName: request.operationName,
            variables: request.variables,
            data,
            estimated: state.priced.requested,
            actual: actualCost,
          });
        }
      }
      const failed = failedAnswers.get(state);
      if (failed) answerFailed(response, failed);
      else if (response.body.kind === 'single') reportThrottle(state.decided, response.body.singleResult);
      reportCache(deps.fieldCache, state, response);
      reportDownstreamWaits(state.accepted.downstreamWaits, response);
      state.answered = { actualCost, ...responseErrors(response) };
      storeUnavailableStatus(response);
      downstreamOverloadedStatus(response);
      requestErrorStatus(request, response);
    },
  };
}

/**
 * The result Apollo hands to `willSendResponse`, as an object of one shape for every response.
 * Apollo makes it by spreading the execution result (`{ ...result, errors }`), which gives each
 * response's object a map of its own: every property read of it then misses V8's inline caches
 * and every property added (`extensions`) makes a new map, a few µs per response in a CPU
 * profile. Step 12 and Apollo's serializer read and write it several times; a copy with the three
 * fields a single result has (GraphQL's `FormattedExecutionResult`) costs three reads, once.
 */
function ofStableShape(result: FormattedExecutionResult): FormattedExecutionResult {
  return { errors: result.errors, data: result.data, extensions: result.extensions };
}

/** What the operation gate needs of an operation, the same for every request that runs it. */
interface OperationShape {
  fragments: Record<string, FragmentDefinitionNode>;
  /** One entry per response key (field limits count aliases), for the limit decision. */
  rootFields: string[];
  /** What the request state records: the name and each root field once. */
  operation: OperationFacts;
}

/**
 * Per operation node of a parsed document: Apollo hands the same DocumentNode to every request
 * with the same text (its document store), so the fragments and root fields are worked out once
 * per operation text, not per request. Frozen, since every request of that text shares them.
 */
const shapes = new WeakMap<OperationDefinitionNode, OperationShape>();

function operationFactsOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, name: string | null): OperationShape {
  const known = shapes.get(operation);
  if (known && known.operation.name === name) return known;
  const fragments = Object.freeze(
    Object.fromEntries(document.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d]] : []))),
  ) as Record<string, FragmentDefinitionNode>;
  const rootFields = Object.freeze(rootFieldsOf(schema, operation, fragments)) as string[];
  const shape: OperationShape = { fragments, rootFields, operation: Object.freeze({ name, rootFields: Object.freeze([...new Set(rootFields)]) }) };
  shapes.set(operation, shape);
  return shape;
}

/**
 * Executes `reduced` instead of the operation Apollo resolved. Apollo executes
 * `requestContext.document` as it stands after `didResolveOperation`; its types mark the fields
 * read-only for plugins, hence the cast.
 */
function narrow(
  rc: GraphQLRequestContextDidResolveOperation<GatewayContext>,
  reduced: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
): void {
  const writable = rc as unknown as { operation: OperationDefinitionNode; document: DocumentNode };
  writable.operation = reduced;
  writable.document = { ...rc.document, definitions: [reduced, ...Object.values(fragments)] };
}
