import { parseCommandLine, USAGE, type CommandLine } from './options.js';
import { printReport } from './report.js';
import { SCENARIOS } from './scenarios.js';

/**
 * `npm run bench [-- scenario ... --duration 5 --concurrency 32 --warmup 1 --rounds 2]`: runs the
 * named scenarios (all by default) one after the other and prints a table for each. Exit code 1
 * when a scenario failed to run or its requests failed; a missed target is reported, not an error.
 */
async function main(): Promise<number> {
  let commandLine: CommandLine;
  try {
    commandLine = parseCommandLine(process.argv.slice(2), process.env);
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const scenarioList = SCENARIOS.map((s) => `  ${s.name.padEnd(12)} ${s.description}`).join('\n');
  if (commandLine.help) {
    console.log(`${USAGE}\n\nscenarios:\n${scenarioList}`);
    return 0;
  }
  const unknown = commandLine.names.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(`unknown scenario: ${unknown.join(', ')}\nscenarios:\n${scenarioList}`);
    return 1;
  }
  const selected = commandLine.names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => commandLine.names.includes(s.name));

  const { durationMs, concurrency, warmupMs, rounds } = commandLine.options;
  console.log(
    `bench: ${selected.map((s) => s.name).join(', ')}; ${durationMs / 1000} s per run, ${rounds} run(s) per variant, ` +
      `${concurrency} concurrent, ${warmupMs / 1000} s warm-up; node ${process.version}`,
  );
  let exitCode = 0;
  for (const scenario of selected) {
    console.log(`\n-- ${scenario.name}: ${scenario.description}`);
    try {
      const reports = await scenario.run(commandLine.options, (line) => console.log(`   ${line}`));
      for (const report of Array.isArray(reports) ? reports : [reports]) if (!printReport(report)) exitCode = 1;
    } catch (error) {
      console.error(`scenario ${scenario.name} failed: ${(error as Error).stack ?? String(error)}`);
      exitCode = 1;
    }
  }
  return exitCode;
}

const exitCode = await main();
process.exitCode = exitCode;
// Scenarios close what they start, so the process should end by itself; if a handle leaks, say so
// and end anyway: a benchmark must stop by itself.
setTimeout(() => {
  console.error('bench: something was left open 5 s after the last scenario; exiting anyway');
  process.exit(exitCode || 1);
}, 5000).unref();
