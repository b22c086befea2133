/**
 * Polls `check` until it holds or `ms` pass, for effects that land shortly after a response
 * (flushes, refunds, config reloads). Returns whether it held: tests assert on that, so a
 * condition that never comes true fails the test rather than hanging it.
 */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
