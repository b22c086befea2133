import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The limit arithmetic is defined in TypeScript and mirrored in limiter.lua, each function naming
 * its twin ("Lua: `name`" in TypeScript, "TS: file.ts name" in the script). random-steps.test.ts
 * checks that the two decide the same; this checks that the names they give each other exist, so
 * a rename on one side is not left pointing at nothing.
 */

const STORE = new URL('../../../src/limits/store/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, STORE), 'utf8');
const DEFINITIONS = ['sliding-window.ts', 'calendar.ts', 'verdict.ts', 'hold.ts', 'lease-grant.ts', 'call-sequence.ts'];
const lua = read('limiter.lua');

/** Every `local function name` and `local NAME =` of the script. */
const luaNames = new Set([...lua.matchAll(/^local (?:function )?([A-Za-z_]\w*)/gm)].map((m) => m[1]!));

describe('the TypeScript definition and its Lua mirror', () => {
  it.each(DEFINITIONS)('every twin %s names is a function or constant of limiter.lua', (file) => {
    const named = [...read(file).matchAll(/Lua: `([A-Za-z_]\w*)`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((name) => !luaNames.has(name))).toEqual([]);
  });

  it.each(DEFINITIONS)('every exported function of %s names its Lua twin or how the script does without one', (file) => {
    const source = read(file);
    // The TSDoc block right before each exported function.
    const unnamed = [...source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export (?:function|const) (\w+)/g)]
      .filter((m) => !m[1]!.includes('Lua:'))
      .map((m) => m[2]!);
    expect(unnamed).toEqual([]);
  });

  it('every TypeScript twin limiter.lua names is exported by that file', () => {
    const named = [...lua.matchAll(/TS: ([\w-]+\.ts) (\w+)/g)].map((m) => ({ file: m[1]!, name: m[2]! }));
    expect(named.length).toBeGreaterThan(10);
    const missing = named.filter(({ file, name }) => !new RegExp(`export (?:function|const) ${name}\\b`).test(read(file)));
    expect(missing).toEqual([]);
  });
});
