import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { readTracingSettings } from '../../src/tracing/settings.js';
import { createTracing } from '../../src/tracing/start.js';

describe('OTEL_* variables', () => {
  it('off unless OTEL_TRACES_EXPORTER names an exporter; the specification defaults otherwise', async () => {
    expect(readTracingSettings({})).toEqual({
      settings: {
        disabled: false,
        exporters: [],
        otlpTracesUrl: 'http://localhost:4318/v1/traces',
        sampler: 'parentbased_always_on',
        ratio: 1,
        serviceName: 'experience-gateway',
        batch: { maxExportBatchSize: 256, scheduledDelayMillis: 500, maxQueueSize: 2048, exportTimeoutMillis: 30_000 },
      },
      issues: [],
    });
    expect((await createTracing({ env: {}, logger: createLogger({ level: 'silent' }) })).enabled).toBe(false);
  });

  it('reads the exporter, the sampler and its ratio, the endpoint and the service name', () => {
    const { settings } = readTracingSettings({
      OTEL_TRACES_EXPORTER: 'otlp,console',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_SERVICE_NAME: 'edge-gateway',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512',
      OTEL_BSP_SCHEDULE_DELAY: '5000',
      OTEL_BSP_MAX_QUEUE_SIZE: '8192',
      OTEL_BSP_EXPORT_TIMEOUT: '10000',
    });
    expect(settings).toMatchObject({
      batch: { maxExportBatchSize: 512, scheduledDelayMillis: 5000, maxQueueSize: 8192, exportTimeoutMillis: 10_000 },
      exporters: ['otlp', 'console'],
      sampler: 'parentbased_traceidratio',
      ratio: 0.1,
      otlpTracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'edge-gateway',
    });
    // The signal's own variable is the whole URL.
    expect(readTracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/traces' }).settings?.otlpTracesUrl).toBe(
      'https://otel.example/traces',
    );
    expect(readTracingSettings({ OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' }).settings?.disabled).toBe(true);
  });

  it('a bad value stops the start, every one named with its variable', async () => {
    const env = {
      OTEL_TRACES_EXPORTER: 'jaeger',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '10%',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      OTEL_BSP_SCHEDULE_DELAY: '0.5',
    };
    expect(readTracingSettings(env).issues).toEqual([
      { path: 'OTEL_TRACES_EXPORTER', message: 'must be otlp, console or none (comma-separated), got "jaeger"' },
      {
        path: 'OTEL_TRACES_SAMPLER',
        message: 'must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "sometimes"',
      },
      { path: 'OTEL_TRACES_SAMPLER_ARG', message: 'must be a number from 0 to 1 (the fraction of traces kept), got "10%"' },
      { path: 'OTEL_EXPORTER_OTLP_ENDPOINT', message: 'must be an http:// or https:// URL, got "collector:4318"' },
      { path: 'OTEL_BSP_SCHEDULE_DELAY', message: 'must be a whole number of at least 1, got "0.5"' },
    ]);
    await expect(createTracing({ env, logger: createLogger({ level: 'silent' }) })).rejects.toThrow(ConfigError);
    // http:// but no URL: the OTLP exporter would refuse it only in its thread, after the start.
    expect(readTracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://[::1/v1/traces' }).issues).toEqual([
      { path: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', message: 'must be an http:// or https:// URL, got "http://[::1/v1/traces"' },
    ]);
    expect(readTracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).issues).toEqual([
      { path: 'OTEL_EXPORTER_OTLP_PROTOCOL', message: 'only http/protobuf is supported, got "grpc"' },
    ]);
  });
});
