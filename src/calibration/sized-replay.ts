import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config/schema.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import type { OperationReader } from '../record/operation-reader.js';
import type { RecordedMinute } from '../record/reader.js';
import type { RequestRecord } from '../record/request-record.js';
import { createReplayRun, type ReplayRun } from '../replay/replay-run.js';
import { costLimitTenants, costRefusedOf, type TenantCostChange } from './cost-limit-tenants.js';
import { createParsedDocuments, createRepricer } from './repricer.js';

/** Sizes to replay with: every suggestion together, or one alone. */
export interface SizeSet {
  /** `all suggestions`, or the one field's coordinate. */
  label: string;
  sizes: ReadonlyMap<string, number>;
}

/** Why a record's estimate could not be priced again (it keeps the recorded one). */
export interface NotRepriced {
  /** The record names no operation: recorded before operation keys, or nothing was priced (refused at the door). */
  noOperation: number;
  /** The operation is not in the store: not kept (over the day's bound, too long) or expired. */
  notKept: number;
  /** The schema cannot price it any more (a field removed, variables that no longer fit). */
  unpriceable: number;
}

export interface SizedReplaySet {
  label: string;
  sizes: { coordinate: string; assumedSize: number }[];
  /** Sum of the estimates charged, with these sizes (a record not repriced counts its recorded one). */
  estimated: number;
  /** Requests whose estimate changed. */
  requestsChanged: number;
  /** Requests refused by a cost limit in all, as recorded and with these sizes. */
  costRefusedBefore: number;
  costRefusedAfter: number;
  tenants: TenantCostChange[];
}

export interface SizedReplay {
  records: number;
  truncated: boolean;
  firstAt: number | null;
  lastAt: number | null;
  /** Records whose estimate was priced again (under the first set). */
  repriced: number;
  notRepriced: NotRepriced;
  /** Sum of the recorded estimates. */
  estimatedBefore: number;
  sets: SizedReplaySet[];
}

/**
 * Replays a period twice or more from one read of the record, against the plans that were live:
 * as recorded (the baseline, which a faithful replay decides as live did), and once per size set
 * with each request's estimate replaced by its operation's estimate on the schema with those
 * `@listSize(assumedSize:)` values. Actual costs stay as recorded; a request the live gateway
 * refused has none (it never ran), so if the sizes admit it, it is settled at the actual cost last
 * recorded for the same operation (key: same text, name and variables), else at its new estimate
 * (nothing refunded). Records that cannot be priced again keep their recorded estimate and are counted.
 */
export async function replayWithSizes(input: {
  source: AsyncIterable<RecordedMinute>;
  /** Null: no operation store (the record is off): nothing can be repriced. */
  operations: OperationReader | null;
  config: Config;
  /** Platform admins' runtime limit overrides, as for any replay (replay-run.ts); default none. */
  overrides?: readonly RuntimeOverride[];
  schema: GraphQLSchema;
  defaultListSize: number;
  sets: readonly SizeSet[];
  /** Records per run at most; default no bound. */
  maxRecords?: number;
}): Promise<SizedReplay> {
  const { sets } = input;
  const documents = createParsedDocuments();
  const repricers = sets.map((set) => createRepricer({ schema: input.schema, sizes: set.sizes, defaultListSize: input.defaultListSize, documents }));
  const runOptions = { config: input.config, proposal: {}, overrides: input.overrides ?? [] };
  const baseline = createReplayRun(runOptions);
  const runs: ReplayRun[] = sets.map(() => createReplayRun(runOptions));
  const totals = sets.map(() => ({ estimated: 0, requestsChanged: 0 }));
  const notRepriced: NotRepriced = { noOperation: 0, notKept: 0, unpriceable: 0 };
  const perTenant = new Map<string, { notRepriced: number; liveCostRefused: number }>();
  /** The actual cost last recorded per operation, for a request that was refused live. */
  const lastActual = new Map<string, number>();
  let repriced = 0;
  let estimatedBefore = 0;
  let fed = 0;
  let truncated = false;
  const max = input.maxRecords ?? Number.POSITIVE_INFINITY;

  for await (const { records: minute, events } of input.source) {
    if (fed >= max) {
      truncated = minute.length > 0;
      if (truncated) break;
      continue;
    }
    const taken = minute.length <= max - fed ? minute : minute.slice(0, max - fed);
    if (taken.length < minute.length) truncated = true;
    fed += taken.length;
    await input.operations?.load(taken);
    const copies: RequestRecord[][] = sets.map(() => []);
    for (const record of taken) {
      estimatedBefore += record.estimatedCost;
      let tenant = perTenant.get(record.tenantId);
      if (!tenant) {
        tenant = { notRepriced: 0, liveCostRefused: 0 };
        perTenant.set(record.tenantId, tenant);
      }
      if (record.throttledBy === 'cost' || record.throttledBy === 'max-cost') tenant.liveCostRefused += 1;
      const key = record.operation;
      const operation = key === undefined ? null : (input.operations?.get(key) ?? null);
      if (key === undefined || !operation) {
        tenant.notRepriced += 1;
        if (key === undefined) notRepriced.noOperation += 1;
        else notRepriced.notKept += 1;
        for (let s = 0; s < sets.length; s++) {
          copies[s]!.push(record);
          totals[s]!.estimated += record.estimatedCost;
        }
        continue;
      }
      if (record.throttledBy === null) lastActual.set(key, record.actualCost);
      for (let s = 0; s < sets.length; s++) {
        const result = repricers[s]!(key, operation);
        if (s === 0) {
          if ('estimate' in result) repriced += 1;
          else {
            tenant.notRepriced += 1;
            notRepriced.unpriceable += 1;
          }
        }
        if (!('estimate' in result)) {
          copies[s]!.push(record);
          totals[s]!.estimated += record.estimatedCost;
          continue;
        }
        const estimate = result.estimate;
        if (estimate !== record.estimatedCost) totals[s]!.requestsChanged += 1;
        totals[s]!.estimated += estimate;
        const actualCost = record.throttledBy === null ? record.actualCost : (lastActual.get(key) ?? estimate);
        // Priced otherwise, a leased request is charged at its decision: its lease reserved the recorded amounts.
        copies[s]!.push({ ...(estimate === record.estimatedCost ? record : withoutLease(record)), estimatedCost: estimate, actualCost });
      }
    }
    await Promise.all([baseline.push(taken, events), ...runs.map((run, s) => run.push(copies[s]!, events))]);
  }

  const before = await baseline.finish();
  const results = await Promise.all(runs.map((run) => run.finish()));
  const costRefusedBefore = costRefusedOf(before.tenants);
  return {
    records: before.records,
    truncated,
    firstAt: before.firstAt,
    lastAt: before.lastAt,
    repriced,
    notRepriced,
    estimatedBefore,
    sets: sets.map((set, s) => ({
      label: set.label,
      sizes: [...set.sizes].map(([coordinate, assumedSize]) => ({ coordinate, assumedSize })),
      estimated: totals[s]!.estimated,
      requestsChanged: totals[s]!.requestsChanged,
      costRefusedBefore,
      costRefusedAfter: costRefusedOf(results[s]!.tenants),
      tenants: costLimitTenants(before.tenants, results[s]!.tenants, perTenant),
    })),
  };
}

/** A record as if no lease had served it. */
function withoutLease({ leaseSeq: _served, ...record }: RequestRecord): RequestRecord {
  return record;
}
