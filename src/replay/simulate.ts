/** `npm run simulate`: see simulate-command.ts. */
import { ConfigError } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { ProposalError } from './proposed-plans.js';
import { SimulateError, simulateCommand } from './simulate-command.js';

try {
  process.stdout.write(await simulateCommand(process.argv.slice(2), process.env, createLogger({ level: 'warn' })));
} catch (err) {
  if (err instanceof SimulateError || err instanceof ProposalError || err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exitCode = 1;
}
