import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.close();
});
beforeEach(() => gateway.sampleServices.resetAll());

const CUSTOMER = '{ customer(id: "cus_3") { id name email lifetimeValue { amountCents } } }';

describe('@auth role restrictions', () => {
  it('serves restricted fields to admin and support', async () => {
    for (const token of [DEMO_TOKENS.globexAdmin, DEMO_TOKENS.globexSupport]) {
      const { status, body } = await gateway.gql(token, CUSTOMER);
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data.customer.email).toMatch(/@/);
      expect(body.data.customer.lifetimeValue.amountCents).toEqual(expect.any(Number));
    }
  });

  it('nulls the restricted fields for a viewer with FORBIDDEN errors and serves the rest', async () => {
    const { status, body } = await gateway.gql(DEMO_TOKENS.globexViewer, CUSTOMER);
    expect(status).toBe(200);
    expect(body.data.customer).toMatchObject({ id: 'cus_3', email: null, lifetimeValue: null });
    expect(body.data.customer.name).toEqual(expect.any(String));
    expect(body.errors!.map((e) => [e.path!.join('.'), e.extensions!.code])).toEqual([
      ['customer.email', 'FORBIDDEN'],
      ['customer.lifetimeValue', 'FORBIDDEN'],
    ]);
    expect(body.errors![0]!.message).toBe('Customer.email requires one of the roles: admin, support');
    expect(body.errors![0]!.extensions!.requiredRoles).toEqual(['ADMIN', 'SUPPORT']);
  });

  it('refuses a mutation to a viewer before any downstream call', async () => {
    const { body } = await gateway.gql(
      DEMO_TOKENS.globexViewer,
      'mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "prd_1", quantity: 1 }] }) { id } }',
    );
    expect(body.data.placeOrder).toBeNull();
    expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(gateway.sampleServices.services.orders.counters()).toEqual({});
  });

  it('gives a platform-admin key its identity but no tenant data', async () => {
    const { body } = await gateway.gql(DEMO_TOKENS.platformAdmin, '{ viewer { kind clientId role tenant { id } } customer(id: "cus_1") { name } }');
    expect(body.data.viewer).toEqual({ kind: 'PLATFORM_ADMIN', clientId: 'platform-ops', role: null, tenant: null });
    expect(body.data.customer).toBeNull();
    expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(gateway.sampleServices.services.accounts.counters()).toEqual({});
  });

  it('identifies a service token as SERVICE for its configured tenant', async () => {
    const { body } = await gateway.gql(DEMO_TOKENS.service, '{ viewer { kind clientId role tenant { id plan { displayName } } } }');
    expect(body.data.viewer).toEqual({
      kind: 'SERVICE',
      clientId: 'reporting-job',
      role: 'VIEWER',
      tenant: { id: 'initech', plan: { displayName: 'Enterprise' } },
    });
  });
});
