import { createFairQueue, type FairQueue, type QueueReason, type QueueState, type Slot } from '../fairness/fair-queue.js';
import type { Priority } from '../fairness/priority.js';

/** One request asking to run on this instance. */
export interface AdmissionRequest {
  tenantId: string;
  /** The plan's weight in the fair order (config `plans.<id>.admission.weight`). */
  weight: number;
  /** The most requests of this tenant the instance runs at once (`plans.<id>.admission.maxInFlight`). */
  tenantMaxInFlight: number;
  priority: Priority;
}

/** Why a request was not admitted. `tenant_*`: its own tenant's requests were ahead of it (over its own share). */
export type AdmissionRefusalReason = 'tenant_queue_full' | 'tenant_wait' | QueueReason;

export type AdmissionOutcome =
  | { admitted: true; waitedMs: number; release(): void }
  | { admitted: false; reason: AdmissionRefusalReason; overOwnShare: boolean; waitedMs: number; retryAfterSeconds: number };

/** A request admitted without waiting. */
export type AdmittedAtOnce = Extract<AdmissionOutcome, { admitted: true }>;

export interface Admission {
  /** Waits for the request's turn (at once when the instance has room); `cancel` when the client left. */
  enter(request: AdmissionRequest): { outcome: Promise<AdmissionOutcome>; cancel(): void };
  /**
   * Admits the request now when its tenant is under its own cap and the instance has a free slot
   * with nobody waiting (what `enter` would do at once), without a promise, closure or timer:
   * nearly every request. Undefined, with nothing changed, when it would wait or be refused: then
   * `enter` decides.
   */
  admitAtOnce(request: AdmissionRequest): AdmittedAtOnce | undefined;
  state(): QueueState & { tenantsWaiting: number };
}

export interface AdmissionOptions {
  /** The instance's limit now (loop-limit.ts). */
  limit: () => number;
  maxQueue: number;
  maxQueuePerTenant: number;
  maxWaitMs: number;
  criticalReservePercent: number;
  agePerClassMs: number;
  now?: () => number;
}

interface TenantGate {
  running: number;
  /** Requests over the tenant's own cap, oldest first: each starts when one of the tenant's running requests ends. */
  waiting: (() => void)[];
}

/** An admission that never waited: its release gives back the instance's slot and the tenant's. */
class AdmittedNow implements AdmittedAtOnce {
  readonly admitted = true;
  readonly waitedMs = 0;
  private released = false;
  constructor(
    private readonly slot: Slot,
    private readonly tenantId: string,
    private readonly gate: TenantGate,
    private readonly leaveGate: (tenantId: string, gate: TenantGate) => void,
  ) {}
  release(): void {
    if (this.released) return;
    this.released = true;
    this.slot.release();
    this.leaveGate(this.tenantId, this.gate);
  }
}

/**
 * Fair admission on one instance, in two gates:
 * 1. **The tenant's own share**: at most `tenantMaxInFlight` of a tenant's requests run at once;
 *    the next ones wait in the tenant's own queue (at most `maxQueuePerTenant`, at most
 *    `maxWaitMs`), so a tenant flooding in a closed loop holds its own connections, not the
 *    instance. Past its queue: refused, over its own share (429).
 * 2. **The instance**: when more requests want to run than its limit (which shrinks while the
 *    event loop lags), they wait in the fair queue (fairness/fair-queue.ts: start-time fair
 *    queueing across tenants by plan weight, priority classes with ageing and a critical
 *    reserve, bounded, within `maxWaitMs`). Past its bounds or its time: 503 with Retry-After.
 * A request that waits costs a closure and a timer; the GraphQL work starts only once admitted.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const now = options.now ?? Date.now;
  const queue: FairQueue = createFairQueue({
    limit: options.limit,
    maxQueue: options.maxQueue,
    maxQueuePerTenant: options.maxQueuePerTenant,
    criticalReservePercent: options.criticalReservePercent,
    agePerClassMs: options.agePerClassMs,
    now,
    // `maxWaitMs` bounds the wait for a turn; once admitted, a request runs as long as it needs.
    deadlineCoversRun: false,
  });
  const tenants = new Map<string, TenantGate>();

  const gateOf = (tenantId: string): TenantGate => {
    let gate = tenants.get(tenantId);
    if (!gate) {
      gate = { running: 0, waiting: [] };
      tenants.set(tenantId, gate);
    }
    return gate;
  };
  const leaveGate = (tenantId: string, gate: TenantGate) => {
    const next = gate.waiting.shift();
    if (next) return next(); // its slot passes on: `running` stays
    gate.running--;
    if (gate.running === 0) tenants.delete(tenantId);
  };

  return {
    admitAtOnce(request) {
      const gate = tenants.get(request.tenantId);
      if ((gate?.running ?? 0) >= request.tenantMaxInFlight) return undefined;
      const slot = queue.tryAcquire(request.priority);
      if (!slot) return undefined;
      const held = gate ?? gateOf(request.tenantId);
      held.running++;
      return new AdmittedNow(slot, request.tenantId, held, leaveGate);
    },

    enter(request) {
      const startedAt = now();
      const deadlineAt = startedAt + options.maxWaitMs;
      const gate = gateOf(request.tenantId);
      let settle: (outcome: AdmissionOutcome) => void = () => {};
      const outcome = new Promise<AdmissionOutcome>((resolve) => (settle = resolve));
      let done = false;
      let cancelQueue: (() => void) | null = null;
      let inGate = false;
      const finish = (result: AdmissionOutcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        settle(result);
      };
      const refuse = (reason: AdmissionRefusalReason, overOwnShare: boolean, drainMs = 1000) => {
        if (inGate) leaveGate(request.tenantId, gate);
        inGate = false;
        finish({ admitted: false, reason, overOwnShare, waitedMs: now() - startedAt, retryAfterSeconds: Math.max(1, Math.min(30, Math.ceil(drainMs / 1000))) });
      };
      const askInstance = () => {
        inGate = true;
        cancelQueue = queue.request(
          { tenantId: request.tenantId, weight: request.weight, priority: request.priority, deadlineAt },
          {
            granted: (slot) => {
              cancelQueue = null;
              let released = false;
              finish({
                admitted: true,
                waitedMs: now() - startedAt,
                release: () => {
                  if (released) return;
                  released = true;
                  slot.release();
                  leaveGate(request.tenantId, gate);
                },
              });
            },
            refused: (refusal) => {
              cancelQueue = null;
              refuse(refusal.reason, refusal.reason === 'tenant_queue_full', refusal.drainMs);
            },
          },
        );
      };
      // The fair queue keeps no timers: a request still waiting at its deadline is refused here.
      // Armed only once the request has to wait (most are admitted at once, timer-free).
      let timer: NodeJS.Timeout | undefined;
      const onDeadline = () => {
        if (done) return;
        if (cancelQueue) {
          const cancel = cancelQueue;
          cancelQueue = null;
          cancel();
          refuse('queue_timeout', false);
        } else {
          gate.waiting.splice(gate.waiting.indexOf(waiter), 1);
          refuse('tenant_wait', true);
        }
      };
      const waiter = () => {
        if (!done) askInstance();
        else leaveGate(request.tenantId, gate); // cancelled meanwhile: pass the slot on
      };
      if (gate.running < request.tenantMaxInFlight) {
        gate.running++;
        askInstance();
      } else if (gate.waiting.length >= options.maxQueuePerTenant) {
        refuse('tenant_queue_full', true);
      } else {
        gate.waiting.push(waiter);
      }
      if (!done) {
        timer = setTimeout(onDeadline, Math.max(0, deadlineAt - now()));
        timer.unref();
      }
      return {
        outcome,
        cancel() {
          if (done) return;
          if (cancelQueue) {
            cancelQueue();
            cancelQueue = null;
            if (inGate) leaveGate(request.tenantId, gate);
            inGate = false;
          } else {
            const at = gate.waiting.indexOf(waiter);
            if (at >= 0) gate.waiting.splice(at, 1);
          }
          done = true;
          clearTimeout(timer);
        },
      };
    },

    state() {
      let tenantsWaiting = 0;
      for (const gate of tenants.values()) tenantsWaiting += gate.waiting.length;
      return { ...queue.state(), tenantsWaiting };
    },
  };
}
