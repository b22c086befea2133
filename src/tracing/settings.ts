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
   * every `scheduledDelayMillis` ms (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`).
   */
  batch: { maxExportBatchSize: number; scheduledDelayMillis: number };
}

/**
 * Smaller exports, more often, than the SDK's default (512 spans, every 5 s): an export used to
 * encode its whole batch on the event loop at once, and a batch of 512 held up every request in
 * flight meanwhile: interleaved runs of 10 % sampling at 32 concurrent measured the p99 at 1.85x,
 * 1.61x and 1.11x of tracing off with the SDK's batches, against 1.21x, 1.39x and 1.03x with these.
 * The encoding is now on the export thread (worker-exporter.ts); the main thread still copies
 * each batch to it in one piece, so small batches still hold requests up for less.
 */
export const DEFAULT_EXPORT_BATCH = { maxExportBatchSize: 64, scheduledDelayMillis: 200 } as const;

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
