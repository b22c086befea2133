import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/**
 * One step at the door of a route (authenticate, origin, local refusal, ...): returns nothing
 * when it lets the request on at once, a promise when it has to wait for something, or the reply
 * it answered with (`return sendError(...)`, a promise-like that settles once the answer is out).
 */
export type DoorStep = (request: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * The steps as one Fastify hook, run in order until one answers the request. Each step that
 * lets the request on at once costs a function call: as separate `async` hooks, each cost a
 * promise and a turn of the microtask queue on every request, a visible share of a cheap
 * request's CPU with a dozen of them. A step that returns a promise is waited for, as Fastify
 * would; once the reply is sent, no further step runs and the route goes no further (Fastify's
 * own rule between hooks).
 */
export function doorHook(steps: readonly DoorStep[]) {
  return function door(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    runFrom(steps, 0, request, reply, done);
  };
}

/** Runs `steps` from `first`; a closure only for a step that has to wait (no per-request closure otherwise). */
function runFrom(steps: readonly DoorStep[], first: number, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  for (let i = first; i < steps.length; i++) {
    if (reply.sent) return;
    let result: unknown;
    try {
      result = steps[i]!(request, reply);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        () => runFrom(steps, i + 1, request, reply, done),
        (error: unknown) => done((error as Error) ?? new Error('a door step failed without a reason')),
      );
      return;
    }
  }
  if (!reply.sent) done();
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
