import type { BenchOptions } from './scenario.js';

export interface CommandLine {
  /** Scenario names given on the command line; empty means all. */
  names: string[];
  options: BenchOptions;
  help: boolean;
}

/** Each option: its flag, its env variable, its default, its bounds (benchmarks stay bounded). */
const SPECS = {
  durationMs: { flag: 'duration', env: 'BENCH_DURATION', unit: 'seconds', scale: 1000, default: 5, min: 0.1, max: 300, integer: false },
  concurrency: { flag: 'concurrency', env: 'BENCH_CONCURRENCY', unit: 'requests', scale: 1, default: 32, min: 1, max: 1024, integer: true },
  warmupMs: { flag: 'warmup', env: 'BENCH_WARMUP', unit: 'seconds', scale: 1000, default: 1, min: 0, max: 60, integer: false },
  rounds: { flag: 'rounds', env: 'BENCH_ROUNDS', unit: 'runs per variant', scale: 1, default: 2, min: 1, max: 20, integer: true },
} as const;

export const USAGE = `usage: npm run bench [-- [scenario ...] [options]]

options (flags win over the environment):
${Object.values(SPECS)
  .map((s) => `  --${s.flag.padEnd(12)} ${s.env.padEnd(18)} ${s.unit}, default ${s.default} (${s.min}..${s.max})`)
  .join('\n')}
  --compiled     BENCH_COMPILED=1   gateways run the compiled build (dist/, as npm start) instead of tsx
  --help`;

/** Reads scenario names and options from `argv` (after the script) and `env`; throws on anything invalid. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): CommandLine {
  const raw = new Map<keyof typeof SPECS, { value: string; from: string }>();
  for (const [key, spec] of Object.entries(SPECS) as [keyof typeof SPECS, (typeof SPECS)[keyof typeof SPECS]][]) {
    const value = env[spec.env];
    if (value !== undefined && value !== '') raw.set(key, { value, from: spec.env });
  }
  const names: string[] = [];
  let help = false;
  let compiled = compiledFromEnv(env.BENCH_COMPILED);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--compiled') {
      compiled = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      names.push(arg);
      continue;
    }
    const [flag, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    const key = (Object.keys(SPECS) as (keyof typeof SPECS)[]).find((k) => SPECS[k].flag === flag);
    if (!key) throw new Error(`unknown option: ${arg}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${flag} needs a value`);
    raw.set(key, { value, from: `--${flag}` });
  }

  const read = (key: keyof typeof SPECS): number => {
    const spec = SPECS[key];
    const given = raw.get(key);
    if (!given) return spec.default * spec.scale;
    const n = Number(given.value);
    if (!Number.isFinite(n) || n < spec.min || n > spec.max || (spec.integer && !Number.isInteger(n))) {
      throw new Error(
        `${given.from} must be ${spec.integer ? 'a whole number' : 'a number'} of ${spec.unit} from ${spec.min} to ${spec.max}: "${given.value}"`,
      );
    }
    return n * spec.scale;
  };
  return {
    names,
    help,
    options: { durationMs: read('durationMs'), concurrency: read('concurrency'), warmupMs: read('warmupMs'), rounds: read('rounds'), compiled },
  };
}

/** `BENCH_COMPILED`: 1 or true on, 0, false or empty off; anything else is a mistake worth saying. */
function compiledFromEnv(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new Error(`BENCH_COMPILED must be 1, true, 0 or false: "${value}"`);
}
