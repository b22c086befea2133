import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cost-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `npm run cost -- ...args` (the script runs `tsx src/cost/cli.ts`) and collects its output. */
function cost(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, ['src/cost/cli.ts', ...args], { cwd: ROOT, timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('npm run cost', () => {
  it('prints the field cost, the type cost and the cost per path', async () => {
    const query = await file('orders.graphql', '{ orders(first: 50) { nodes { items { product { inventory { available } } } } } }');
    const { code, stdout, stderr } = await cost('--query', query);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('field cost  802\n');
    expect(stdout).toContain('type cost   802\n');
    // path, cost per call, calls, total
    expect(stdout).toMatch(/^orders\.nodes\.items\.product\.inventory\s+2\s+250\s+500$/m);
    expect(stdout).toMatch(/^orders\.nodes\.items\s+1\s+50\s+50$/m);
  });

  it('uses a variables file and picks the operation by name', async () => {
    const query = await file(
      'named.graphql',
      `query Small($n: Int) { orders(first: $n) { nodes { items { product { inventory { available } } } } } }
       query Other { viewer { clientId } }`,
    );
    const variables = await file('vars.json', JSON.stringify({ n: 10 }));
    // 10 orders: 1 + 1 + 10 items + 50 products + 2 * 50 stock = 162.
    const { code, stdout } = await cost('--query', query, '--variables', variables, '--operation', 'Small');
    expect(code).toBe(0);
    expect(stdout).toContain('field cost  162\n');
  });

  it('exits 1 with the validation errors of a query that does not fit the schema', async () => {
    const query = await file('bad.graphql', '{ nope }');
    const { code, stdout, stderr } = await cost('--query', query);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`cost: ${query} is not valid against the schema:\n  ${query}:1:3: Cannot query field "nope" on type "Query".\n`);
  });

  it('exits 1 on a syntax error, a missing file, or an operation it cannot price', async () => {
    const broken = await file('broken.graphql', '{ orders( }');
    const syntax = await cost('--query', broken);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toBe(`cost: ${broken}:1:11: Syntax Error: Expected Name, found "}".\n`);

    const missing = await cost('--query', join(dir, 'absent.graphql'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cost: cannot read query file ${join(dir, 'absent.graphql')}: ENOENT`);

    const two = await file('two.graphql', 'query A { viewer { clientId } } query B { viewer { role } }');
    const unnamed = await cost('--query', two);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toBe(`cost: cannot price ${two}: Must provide operation name if query contains multiple operations.\n`);
  });
});
