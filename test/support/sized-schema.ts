import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCHEMA_DIR } from '../../src/graph/load-schema.js';

const DECLARED = 'items: [LineItem!]! @listSize(assumedSize: 5)';

/**
 * A copy of `schema/` in a temp folder with `Order.items` priced at `size` (schema/orders.graphql
 * declares 5; the sample orders hold 1 to 5 line items): for a gateway whose estimates over- or
 * undercharge by a known field (`startTestGateway({ schemaDir })`). The caller removes the folder.
 */
export async function schemaWithItemsSized(size: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'schema-'));
  await cp(SCHEMA_DIR, dir, { recursive: true });
  const file = join(dir, 'orders.graphql');
  const text = await readFile(file, 'utf8');
  if (!text.includes(DECLARED)) throw new Error(`schema/orders.graphql no longer declares ${DECLARED}`);
  await writeFile(file, text.replace(DECLARED, `items: [LineItem!]! @listSize(assumedSize: ${size})`));
  return dir;
}
