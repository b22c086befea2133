/** How much a request matters to the app when little budget is left. */
export type Priority = 'high' | 'normal' | 'low';

const RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/** Requests waiting to be sent: highest priority first, then first come first served. Small by nature (an app's pending requests). */
export class PriorityQueue<T extends { priority: Priority }> {
  private items: { item: T; seq: number }[] = [];
  private seq = 0;

  push(item: T): void {
    const entry = { item, seq: this.seq++ };
    const rank = RANK[item.priority];
    // Insert after every item of the same or a higher priority.
    let at = this.items.length;
    while (at > 0 && RANK[this.items[at - 1]!.item.priority] > rank) at--;
    this.items.splice(at, 0, entry);
  }

  /** In sending order. */
  values(): T[] {
    return this.items.map((e) => e.item);
  }

  remove(item: T): void {
    this.items = this.items.filter((e) => e.item !== item);
  }

  get size(): number {
    return this.items.length;
  }
}
