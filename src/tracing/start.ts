import { ConfigError } from '../config/load.js';
import { readTracingSettings } from './settings.js';
import type { Tracing, TracingOptions } from './tracing.js';
import { NO_TRACING } from './tracing.js';

/**
 * Tracing configured by the standard `OTEL_*` variables (settings.ts). Off by default, and then
 * nothing is wrapped, subscribed or allocated on the request path, and the OpenTelemetry SDK is
 * not even loaded (traced.ts is imported only when tracing is on). A bad variable is a
 * ConfigError naming it.
 */
export async function createTracing(options: TracingOptions): Promise<Tracing> {
  const { settings, issues } = readTracingSettings(options.env);
  if (!settings) throw new ConfigError('environment', issues);
  if (settings.disabled || (settings.exporters.length === 0 && !options.exporter)) return NO_TRACING;
  const { startTracing } = await import('./traced.js');
  return startTracing(settings, options);
}
