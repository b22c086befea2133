import type { GraphQLSchema } from 'graphql';
import { cachedDirectiveTransformer } from '../cache/cached-directive.js';
import { codeVersion, VALUE_CODE_DIRS } from '../cache/code-version.js';
import { SERVICE_NAMES, type Config } from '../config/schema.js';
import type { ConfigSource } from '../config/source.js';
import { createCostAnalyzer, type CostAnalyzer } from '../cost/analyzer.js';
import { fieldRateLimitTransformer } from '../limits/field-rate-limit.js';
import type { Logger } from '../observability/logger.js';
import type { SampleServices } from '../sample-services/start.js';
import { buildSchema } from './build-schema.js';
import type { Stores } from './stores.js';

/** The executable schema with @rateLimit and @cached in force, and its cost analyzer. */
export async function buildPricedSchema(deps: {
  /** The SDL folder; default `schema/`. */
  schemaDir: string | undefined;
  config: ConfigSource;
  initial: Config;
  stores: Pick<Stores, 'fieldLimitsRedis' | 'fieldCache'>;
  /** The fallback's divisor of @rateLimit limits while Redis is away. */
  divisor: () => number;
  /** The embedded sample services, when they serve some backend: their code is then part of the cache keys' version. */
  sampleServices: SampleServices | null;
  logger: Logger;
}): Promise<{ schema: GraphQLSchema; costAnalyzer: CostAnalyzer }> {
  const { config, initial, logger } = deps;
  const schema = await buildSchema({
    ...(deps.schemaDir ? { schemaDir: deps.schemaDir } : {}),
    config: initial,
    rateLimit: fieldRateLimitTransformer({
      redis: deps.stores.fieldLimitsRedis,
      divisor: deps.divisor,
      documentationUrl: () => config.current().limits.documentationUrl,
    }),
    // Which backends fields read from, the code that produces values and the operator's bump are
    // part of the cache keys' version: any of them changing starts from empty keys.
    cache: cachedDirectiveTransformer({
      fieldCache: deps.stores.fieldCache,
      outputConfig: {
        ...Object.fromEntries(SERVICE_NAMES.map((name) => [name, initial.downstream[name].url ?? 'embedded'])),
        code: codeVersion(deps.sampleServices ? [...VALUE_CODE_DIRS, 'sample-services'] : VALUE_CODE_DIRS),
        version: initial.cache.version,
      },
      logger,
    }),
  });
  // Validates @cost/@listSize at start: a wrong directive stops the gateway here.
  const costAnalyzer = createCostAnalyzer({ schema });
  if (costAnalyzer.warnings.length > 0) {
    logger.warn({ fields: costAnalyzer.warnings }, 'list fields without @listSize are priced at the default list size');
  }
  return { schema, costAnalyzer };
}
