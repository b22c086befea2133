import type { TenantPrincipal } from '../auth/principal.js';
import type { RequestState } from '../graph/request-state.js';
import type { LocalRefusal } from '../limits/local-refusals.js';

/** Where a refusal from memory was answered: the front door (front-door.ts) or the route's hook (local-refusal-hook.ts). */
export type LocalRefusalDoor = 'front' | 'route';

/**
 * A request answered with a refusal from memory, as its state: metered as a throttled request,
 * like one the limit gate refused (with its root fields when its text was seen before).
 */
export function refusedState(principal: TenantPrincipal, ip: string, refusal: LocalRefusal, rootFields: readonly string[] | null): RequestState {
  return {
    accepted: { principal, ip, startedAt: Date.now() },
    ...(rootFields ? { operation: { name: null, rootFields: [...new Set(rootFields)] } } : {}),
    decided: { planId: refusal.planId, costBudget: null, throttled: refusal.dimension },
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The response headers of a refusal from memory, besides those every response gets. */
export function refusalHeaders(refusal: LocalRefusal, decisionHeader: boolean): Record<string, string> {
  const headers: Record<string, string> = { ...refusal.headers, 'content-type': JSON_TYPE };
  if (decisionHeader) headers['x-ratelimit-decision'] = `remembered;t=${refusal.storeNow}`;
  return headers;
}

/** A refusal's answer as Node's `writeHead` takes it: its header lines (flat name, value pairs, with the body's type and length) and the body's bytes. */
export interface RefusalHead {
  lines: readonly string[];
  bytes: number;
}
/** By the refusal's `headers`, which local-refusals.ts builds with its body, once per second of a refusal. */
const heads = new WeakMap<object, RefusalHead>();

/** `refusalHeaders` for the front door (no decision header), built once per answer rather than per request. */
export function refusalHead(refusal: LocalRefusal): RefusalHead {
  let head = heads.get(refusal.headers);
  if (!head) {
    const bytes = Buffer.byteLength(refusal.body);
    const lines = ['content-type', JSON_TYPE, 'content-length', String(bytes)];
    for (const name in refusal.headers) lines.push(name, refusal.headers[name]!);
    head = { lines, bytes };
    heads.set(refusal.headers, head);
  }
  return head;
}

export interface RefusalHold {
  /** Waits before a refusal from memory is answered, or undefined to answer at once. */
  wait(delayMs: number, refusal: LocalRefusal): Promise<void> | undefined;
}

/**
 * A caller that retries before its Retry-After gets its refusal after half to all of `delayMs`
 * (`limits.localRefusalDelayMs`; never later than the refusal's end, at most `maxHeld` answers
 * waiting at once, past which they go out at once): a client ignoring Retry-After in a closed
 * loop then sends a few requests per second per connection instead of thousands, and its
 * refusals stop competing with everyone else's requests for the event loop. Nothing is admitted
 * or refused differently; only the refusal arrives later. One hold for both doors (the front
 * door and the hook), so the cap counts every held answer.
 */
export function createRefusalHold(maxHeld = 10_000): RefusalHold {
  let held = 0;
  const release = () => {
    held--;
  };
  return {
    wait(delayMs, refusal) {
      // Between half and all of the delay: held answers released together would bring a closed
      // loop's connections back together, a wave of requests every delay.
      const delay = Math.min(delayMs * (0.5 + Math.random() / 2), refusal.remainingMs);
      if (!(delay > 0) || held >= maxHeld) return undefined;
      held++;
      return new Promise<void>((resolve) => setTimeout(resolve, delay)).then(release);
    },
  };
}
