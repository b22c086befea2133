import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { parseConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { observeEverything, SERIES } from './observe-everything.js';
import { familyOf, parsePrometheusText, type Exposition } from './prometheus-text.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const yamlFile = (path: string) => parse(read(path), { merge: true }) as Record<string, any>;

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['instance', 'job', 'service'];
const PROMQL_WORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);

/**
 * The metric selectors of a PromQL expression: `[name, matcher label names]`. Good enough for
 * our own rules: strips strings, `by (...)` clauses and ranges, skips function names.
 */
function selectors(expr: string): [string, string[]][] {
  const out: [string, string[]][] = [];
  const cleaned = expr.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g;
  for (let m = re.exec(cleaned); m; m = re.exec(cleaned)) {
    const [, name, matchers] = m as unknown as [string, string, string | undefined];
    const after = cleaned.slice(m.index + m[0].length);
    if (!matchers && after.startsWith('(')) continue; // a function call
    if (PROMQL_WORDS.has(name) || /^\d/.test(name)) continue;
    const labels = matchers ? [...matchers.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((x) => x[1]!) : [];
    out.push([name, labels]);
  }
  return out;
}

let exposition: Exposition;
beforeAll(async () => {
  const metrics = createMetrics({ tenantLabels: 'none' });
  observeEverything(metrics);
  exposition = parsePrometheusText((await metrics.render()).body);
});

/** Fails unless every selector names a gateway series (or `up`) with labels it has. */
function expectKnownSelectors(expr: string, where: string): void {
  const found = selectors(expr);
  expect(found.length, `${where}: no metric in ${expr}`).toBeGreaterThan(0);
  for (const [name, labels] of found) {
    if (name === 'up') continue;
    expect(familyOf(name, exposition.types), `${where}: unknown metric ${name}`).toBeDefined();
    const known = new Set([...TARGET_LABELS, ...exposition.samples.filter((s) => s.name === name).flatMap((s) => Object.keys(s.labels))]);
    for (const label of labels) expect(known.has(label), `${where}: ${name} has no label ${label}`).toBe(true);
  }
}

describe('selectors (the test helper itself)', () => {
  it('finds metric names and matcher labels, not functions, clauses or keywords', () => {
    expect(selectors('sum by (plan) (rate(a_total{status="x,y", plan=~"$plan"}[5m])) / sum by (plan) (b_count) > 0.1 and up == 0')).toEqual([
      ['a_total', ['status', 'plan']],
      ['b_count', []],
      ['up', []],
    ]);
  });
});

describe('deploy/prometheus', () => {
  it('scrapes /metrics of both compose gateways on their metrics port, not on the public one', () => {
    const config = yamlFile('deploy/prometheus/prometheus.yml');
    const job = (config.scrape_configs as any[]).find((j) => j.job_name === 'gateway');
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs.flatMap((c: { targets: string[] }) => c.targets)).toEqual(['gateway-1:9464', 'gateway-2:9464']);
    const compose = yamlFile('docker-compose.yml');
    for (const service of ['gateway-1', 'gateway-2']) {
      expect(compose.services[service].environment.PORT).toBe('4000');
      expect(compose.services[service].environment.METRICS_PORT).toBe('9464');
      // The gateway reads that environment as the compose file gives it: /metrics on 9464, on
      // every address (HOST), so Prometheus reaches it from its own container.
      const server = parseConfig(readFileSync(DEMO_CONFIG_PATH, 'utf8'), 'demo.yaml', compose.services[service].environment).server;
      expect({ port: server.port, metricsPort: server.metricsPort, metricsHost: server.metricsHost ?? server.host }).toEqual({
        port: 4000,
        metricsPort: 9464,
        metricsHost: '0.0.0.0',
      });
    }
    for (const rules of config.rule_files as string[]) expect(existsSync(join(ROOT, 'deploy/prometheus', rules)), rules).toBe(true);
  });

  it('has alert rules, each well-formed and over series the gateway exports', () => {
    const { groups } = yamlFile('deploy/prometheus/alerts.yml') as { groups: { name: string; rules: Record<string, any>[] }[] };
    const rules = groups.flatMap((g) => g.rules);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(typeof rule.expr).toBe('string');
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      expectKnownSelectors(rule.expr as string, rule.alert as string);
    }
    const names = rules.map((r) => r.alert as string);
    expect(new Set(names).size).toBe(names.length);
    // The alerts the issue asks for.
    for (const metric of [
      'graphql_requests_total{status="throttled"}',
      'graphql_request_duration_seconds_bucket',
      'downstream_breaker_state',
      'redis_errors_total',
      'usage_flush_lag_seconds',
    ]) {
      expect(
        rules.some((r) => (r.expr as string).includes(metric)),
        metric,
      ).toBe(true);
    }
  });
});

describe('deploy/grafana', () => {
  const dashboard = JSON.parse(read('deploy/grafana/dashboards/gateway.json')) as Record<string, any>;
  const panels = dashboard.panels as Record<string, any>[];
  const graphs = panels.filter((p) => p.type !== 'row');

  it('provisions the Prometheus data source the dashboard uses', () => {
    const { datasources } = yamlFile('deploy/grafana/provisioning/datasources/prometheus.yml');
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', uid: 'prometheus' });
    for (const panel of graphs) expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: datasources[0].uid });
  });

  it('has a dashboard with unique ids, queries over known series, and every gateway series on it', () => {
    expect(dashboard.uid).toBe('experience-gateway');
    const ids = panels.map((p) => p.id as number);
    expect(new Set(ids).size).toBe(ids.length);
    const exprs: string[] = [];
    for (const panel of graphs) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        exprs.push(target.expr);
        expectKnownSelectors(target.expr, panel.title);
      }
    }
    for (const name of Object.keys(SERIES))
      expect(
        exprs.some((e) => e.includes(name)),
        `${name} is on no panel`,
      ).toBe(true);
    for (const variable of dashboard.templating.list) {
      const [, metric] = /^label_values\(([^,]+),\s*\w+\)$/.exec(variable.query.query) ?? [];
      expect(metric, variable.name).toBeDefined();
      expectKnownSelectors(metric!, `variable ${variable.name}`);
    }
  });

  it('is loaded by the dashboard provider from where docker-compose mounts it', () => {
    const { providers } = yamlFile('deploy/grafana/provisioning/dashboards/gateway.yml');
    const grafana = yamlFile('docker-compose.yml').services.grafana;
    const mounts = new Map((grafana.volumes as string[]).map((v) => [v.split(':')[1]!, v.split(':')[0]!]));
    const source = mounts.get(providers[0].options.path);
    expect(source, 'the provider path is a mount target').toBe('./deploy/grafana/dashboards');
    expect(mounts.get('/etc/grafana/provisioning')).toBe('./deploy/grafana/provisioning');
    const home = grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH as string;
    expect(existsSync(join(ROOT, mounts.get(posix.dirname(home))!, posix.basename(home)))).toBe(true);
  });
});

describe('Dockerfile', () => {
  /** The final stage (after the last FROM): what the image runs. */
  const finalStage = read('Dockerfile')
    .split(/^FROM /m)
    .at(-1)!;

  it('serves /metrics on a port of its own by default, exposed beside the public port', () => {
    const env = Object.fromEntries(
      [...finalStage.matchAll(/^ENV (.+)$/gm)].flatMap((m) => m[1]!.split(/\s+/).map((pair) => pair.split('=') as [string, string])),
    );
    expect(env).toMatchObject({ HOST: '0.0.0.0', METRICS_PORT: '9464' });
    const server = parseConfig(readFileSync(DEMO_CONFIG_PATH, 'utf8'), 'demo.yaml', env).server;
    expect({ port: server.port, metricsPort: server.metricsPort }).toEqual({ port: 4000, metricsPort: 9464 });
    expect(/^EXPOSE (.+)$/m.exec(finalStage)?.[1]?.split(/\s+/)).toEqual(['4000', '9464']);
    // Its health check asks the public port's /readyz, which the metrics port does not serve.
    expect(finalStage).toMatch(/^HEALTHCHECK .*\n\s+CMD .*process\.env\.PORT \|\| 4000\) \+ '\/readyz'/m);
  });
});

describe('docker-compose.yml', () => {
  it('wires prometheus and grafana with existing files and declared volumes', () => {
    const compose = yamlFile('docker-compose.yml');
    expect(compose.services.prometheus.image).toMatch(/^prom\/prometheus:v\d/);
    expect(compose.services.grafana.image).toMatch(/^grafana\/grafana:\d/);
    const prometheusMounts = compose.services.prometheus.volumes as string[];
    expect(prometheusMounts).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    // The rule files resolve next to the mounted config inside the container.
    const config = yamlFile('deploy/prometheus/prometheus.yml');
    for (const rules of config.rule_files as string[]) {
      expect(
        prometheusMounts.some((m) => m.split(':')[1] === posix.join('/etc/prometheus', rules)),
        rules,
      ).toBe(true);
    }
    for (const service of ['prometheus', 'grafana']) {
      for (const mount of compose.services[service].volumes as string[]) {
        const [source] = mount.split(':') as [string];
        if (source.startsWith('./')) expect(existsSync(join(ROOT, source)), mount).toBe(true);
        else expect(Object.keys(compose.volumes), mount).toContain(source);
      }
    }
  });
});
