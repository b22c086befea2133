import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/authenticator.js';
import { DEMO_CONFIG_PATH, DEMO_TOKENS } from '../../src/config/demo.js';
import { loadConfigFile } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

describe('authenticator', () => {
  it('remembers a verified token per config: a key removed by a reload stops working at once', async () => {
    const loaded = await loadConfigFile(DEMO_CONFIG_PATH, {});
    let config: Config = loaded;
    const authenticator = createAuthenticator(() => config);
    const header = `Bearer ${DEMO_TOKENS.initechAdmin}`;
    const first = authenticator.authenticate(header);
    expect(first).toMatchObject({ ok: true, principal: { clientId: 'initech-admin', tenantId: 'initech' } });
    expect(authenticator.authenticate(header)).toEqual(first);

    config = { ...loaded, apiKeys: loaded.apiKeys.filter((k) => k.id !== 'initech-admin') };
    expect(authenticator.authenticate(header)).toEqual({ ok: false, reason: 'invalid' });
    // The other keys of the reloaded config still work.
    expect(authenticator.authenticate(`Bearer ${DEMO_TOKENS.globexAdmin}`)).toMatchObject({ ok: true, principal: { clientId: 'globex-admin' } });
  });

  it('never remembers a token that failed: garbage cannot grow the memo, and stays invalid', async () => {
    const config = await loadConfigFile(DEMO_CONFIG_PATH, {});
    const authenticator = createAuthenticator(() => config);
    for (let i = 0; i < 3; i++) expect(authenticator.authenticate(`Bearer not-a-key-${i}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(authenticator.authenticate('Bearer not-a-key-0')).toEqual({ ok: false, reason: 'invalid' });
  });
});
