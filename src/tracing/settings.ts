import type { ConfigIssue } from '../config/load.js';

/** Where spans go: `otlp` (OTLP over HTTP/protobuf) and `console` (one JSON-ish line per span, for trying it out). */
export type TraceExporterName = 'otlp' | 'console';

/** The samplers of the OpenTelemetry specification, by their `OTEL_TRACES_SAMPLER` names. */
export const SAMPLER_NAMES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** Tracing as the `OTEL_*` variables ask for it, once they are known to be valid. */
export interface TracingSettings {
  /** `OTEL_SDK_DISABLED=true`: no tracing at all, also with an exporter given in code (tests). */
  disabled: boolean;
  /** None: off, unless an exporter is given in code (tests). */
  exporters: TraceExporterName[];
  /** The OTLP traces URL (`.../v1/traces`); used when `exporters` has `otlp`. */
  otlpTracesUrl: string;
  sampler: SamplerName;
  /** Fraction of new traces kept by the `*traceidratio` samplers, 0..1; default 1. */
  ratio: number;
  /** `service.name` of every span; default `experience-gateway`. */
  serviceName: string;
  /**
   * How the batch span processor exports: at most `maxExportBatchSize` spans an export, at least
   * every `scheduledDelayMillis` ms (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`);
   * at most `maxQueueSize` spans waiting, the rest dropped (`OTEL_BSP_MAX_QUEUE_SIZE`, default
   * 2048); an export abandoned after `exportTimeoutMillis` ms (`OTEL_BSP_EXPORT_TIMEOUT`, default 30000).
   */
  batch: { maxExportBatchSize: number; scheduledDelayMillis: number; maxQueueSize: number; exportTimeoutMillis: number };
}

/**
 * Smaller exports, more often, than the SDK's default (512 spans, every 5 s), but not too small.
 * - Each export stops the main thread while it copies the batch to the export thread
 *   (span-data.ts: about 1 µs a span), so a batch is a pause for every request in flight.
 *   When the main thread still encoded whole batches, the SDK's 512 measured the p99 of 10 %
 *   sampling at 32 concurrent at 1.85x, 1.61x and 1.11x of tracing off.
 * - Each export is also an HTTP request from the export thread, whose cost hardly depends on its
 *   size. `bench/export-batches.ts` (two runs): the export thread took 12.9-13.6 µs of CPU a span
 *   in batches of 64, 7.2 in batches of 256 and 6.3-6.5 in batches of 512; the main thread
 *   3.9-5.3, 1.9-2.6 and 1.5-2.5 µs (its figure includes the bench's sink).
 * 256 spans (a pause of about 0.3 ms) every 500 ms at most takes most of that gain.
 */
export const DEFAULT_EXPORT_BATCH = { maxExportBatchSize: 256, scheduledDelayMillis: 500 } as const;

export const DEFAULT_SERVICE_NAME = 'experience-gateway';
/** The OTLP/HTTP default of the specification: a collector on this host. */
const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

/**
 * Reads the standard OpenTelemetry variables. Tracing is OFF unless `OTEL_TRACES_EXPORTER`
 * names an exporter (`otlp`, `console`, or both comma-separated); `OTEL_SDK_DISABLED=true` turns
 * it off whatever else is set. (The specification's default exporter is `otlp`; the gateway does
 * not start sending spans to a collector nobody asked for.) A bad value is an issue named after
 * its variable, so a typo stops the start instead of silently tracing nothing.
 */
export function readTracingSettings(env: NodeJS.ProcessEnv): { settings: TracingSettings | null; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw ? raw : undefined;
  };

  const exporters: TraceExporterName[] = [];
  for (const name of (value('OTEL_TRACES_EXPORTER') ?? 'none').split(',').map((s) => s.trim().toLowerCase())) {
    if (name === 'otlp' || name === 'console') exporters.push(name);
    else if (name !== 'none') issues.push({ path: 'OTEL_TRACES_EXPORTER', message: `must be otlp, console or none (comma-separated), got "${name}"` });
  }

  const samplerRaw = (value('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on').toLowerCase();
  const sampler = SAMPLER_NAMES.find((name) => name === samplerRaw);
  if (!sampler) issues.push({ path: 'OTEL_TRACES_SAMPLER', message: `must be one of ${SAMPLER_NAMES.join(', ')}, got "${samplerRaw}"` });

  const ratioRaw = value('OTEL_TRACES_SAMPLER_ARG');
  let ratio = 1;
  if (ratioRaw !== undefined) {
    ratio = Number(ratioRaw);
    if (!/^(0|1|0?\.\d+|1\.0*)$/.test(ratioRaw)) {
      issues.push({ path: 'OTEL_TRACES_SAMPLER_ARG', message: `must be a number from 0 to 1 (the fraction of traces kept), got "${ratioRaw}"` });
    }
  }

  const protocol = value('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? value('OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
  if (exporters.includes('otlp') && protocol !== 'http/protobuf') {
    issues.push({ path: 'OTEL_EXPORTER_OTLP_PROTOCOL', message: `only http/protobuf is supported, got "${protocol}"` });
  }
  const tracesUrl = value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = value('OTEL_EXPORTER_OTLP_ENDPOINT') ?? DEFAULT_OTLP_ENDPOINT;
  // The signal-specific variable is the whole URL; the general one is a base the path is added to (the specification's rule).
  const otlpTracesUrl = tracesUrl ?? `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  for (const [name, url] of [
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesUrl] as const,
    ['OTEL_EXPORTER_OTLP_ENDPOINT', value('OTEL_EXPORTER_OTLP_ENDPOINT')] as const,
  ]) {
    // URL.canParse: the OTLP exporter parses it so, and would refuse it in the export thread, after the start.
    if (url !== undefined && !(/^https?:\/\/[^/]/.test(url) && URL.canParse(url))) {
      issues.push({ path: name, message: `must be an http:// or https:// URL, got "${url}"` });
    }
  }

  const batch = {
    maxExportBatchSize: positiveInteger('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', DEFAULT_EXPORT_BATCH.maxExportBatchSize),
    scheduledDelayMillis: positiveInteger('OTEL_BSP_SCHEDULE_DELAY', DEFAULT_EXPORT_BATCH.scheduledDelayMillis),
    // The SDK's own defaults; the SDK reads no variable itself, so the gateway does.
    maxQueueSize: positiveInteger('OTEL_BSP_MAX_QUEUE_SIZE', 2048),
    exportTimeoutMillis: positiveInteger('OTEL_BSP_EXPORT_TIMEOUT', 30_000),
  };

  if (issues.length > 0 || !sampler) return { settings: null, issues };
  const disabled = value('OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  return {
    settings: { disabled, exporters, otlpTracesUrl, sampler, ratio, serviceName: value('OTEL_SERVICE_NAME') ?? DEFAULT_SERVICE_NAME, batch },
    issues,
  };

  /** A whole number of at least 1 from the environment, or `fallback` when it is not set. */
  function positiveInteger(name: string, fallback: number): number {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (Number.isInteger(parsed) && parsed >= 1) return parsed;
    issues.push({ path: name, message: `must be a whole number of at least 1, got "${raw}"` });
    return fallback;
  }
}
