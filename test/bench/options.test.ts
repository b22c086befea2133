import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../bench/options.js';

/** `npm run bench` options (bench/options.ts): the runtime the gateways run under. */
describe('bench options: --compiled', () => {
  it('runs gateways under tsx unless --compiled or BENCH_COMPILED says otherwise', () => {
    expect(parseCommandLine(['overhead'], {}).options.compiled).toBe(false);
    expect(parseCommandLine(['overhead', '--compiled'], {}).options).toMatchObject({ compiled: true, rounds: 2 });
    expect(parseCommandLine(['--compiled', 'overhead', '--rounds', '3'], {})).toMatchObject({ names: ['overhead'], options: { compiled: true, rounds: 3 } });
    expect(parseCommandLine([], { BENCH_COMPILED: '1' }).options.compiled).toBe(true);
    expect(parseCommandLine([], { BENCH_COMPILED: 'true' }).options.compiled).toBe(true);
    expect(parseCommandLine([], { BENCH_COMPILED: '0' }).options.compiled).toBe(false);
    expect(parseCommandLine([], { BENCH_COMPILED: '' }).options.compiled).toBe(false);
    // The flag wins over the environment, as every other option's does.
    expect(parseCommandLine(['--compiled'], { BENCH_COMPILED: 'false' }).options.compiled).toBe(true);
  });

  it('refuses a BENCH_COMPILED it cannot read, naming the value', () => {
    expect(() => parseCommandLine([], { BENCH_COMPILED: 'yes' })).toThrow('BENCH_COMPILED must be 1, true, 0 or false: "yes"');
  });
});
