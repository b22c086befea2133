/**
 * Priority classes of downstream calls, most urgent first. `critical` (e.g. checkout) keeps a
 * reserved share of every service's slots; `batch` (exports, back-office sweeps) goes last. The
 * class comes with the call (`CallContext.priority`); where it is decided is not this folder's job.
 */
export const PRIORITIES = ['critical', 'normal', 'batch'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** 0 for the most urgent class: the queue compares ranks. */
export const PRIORITY_RANK: Readonly<Record<Priority, number>> = { critical: 0, normal: 1, batch: 2 };
