import type { Downstream } from '../downstream/downstream.js';
import { createLoaders, type Loaders } from '../downstream/loaders.js';
import type { CallContext } from '../downstream/call-context.js';

/**
 * A request's loaders (downstream/loaders.ts), made when a resolver first reads one: a request
 * that calls no service (`viewer`, `usage`, `rateLimit`, introspection) builds none of them. Each
 * loader is a DataLoader plus its memo and views, a dozen closures in all, and making them was a
 * visible share of such a request's CPU. A class rather than a getter on the context: Apollo
 * copies the context object (`Object.assign`), which would call the getter at once, and a copied
 * accessor sends that copy down V8's slow path.
 */
class LazyLoaders implements Loaders {
  #made: Loaders | undefined;
  readonly #downstream: Downstream;
  readonly #call: CallContext;

  constructor(downstream: Downstream, call: CallContext) {
    this.#downstream = downstream;
    this.#call = call;
  }

  #loaders(): Loaders {
    this.#made ??= createLoaders(this.#downstream, this.#call);
    return this.#made;
  }

  get customers() {
    return this.#loaders().customers;
  }
  get products() {
    return this.#loaders().products;
  }
  get orders() {
    return this.#loaders().orders;
  }
  get stock() {
    return this.#loaders().stock;
  }
  get recentOrders() {
    return this.#loaders().recentOrders;
  }
  get clock() {
    return this.#loaders().clock;
  }
  ordersOfCustomer(first: number) {
    return this.#loaders().ordersOfCustomer(first);
  }
  since(later: number) {
    return this.#loaders().since(later);
  }
}

/** The loaders of one request and tenant, made on first use. */
export function lazyLoaders(downstream: Downstream, call: CallContext): Loaders {
  return new LazyLoaders(downstream, call);
}
