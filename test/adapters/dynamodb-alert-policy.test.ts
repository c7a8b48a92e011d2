/**
 * An identity's own alert policy in the registry, on dynalite: registered whole, then changed
 * field by field (`identities set`), each change merged into what is stored by a compare-and-set,
 * so two changes at once both land.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { createTestTable } from '../support/dynalite';

const ID = parseIdentityId('558355');
const MIN = 60_000;

async function setup() {
  const table = await createTestTable();
  const policyOf = async (): Promise<unknown> => {
    const { Item } = await table.client.send(new GetItemCommand({ TableName: table.tableName, Key: { identityId: { S: ID } }, ConsistentRead: true }));
    return Item?.alertPolicy?.S === undefined ? undefined : JSON.parse(Item.alertPolicy.S);
  };
  return { ...table, policyOf };
}

describe('the alert policy of an identity', () => {
  test('is registered with the identity, as compact JSON written as the flags write it', async () => {
    const { registry, policyOf } = await setup();

    await registry.register(ID, { label: 'Support', alertPolicy: { cooldown: 20 * 60_000, quietHours: { start: 1320, end: 420 }, notifyCleared: true } });

    expect(await policyOf()).toEqual({ cooldown: '20m', quietHours: '22:00-07:00', notifyCleared: true });
    expect((await registry.get(ID))?.alertPolicy).toEqual({ cooldown: 20 * 60_000, quietHours: { start: 1320, end: 420 }, notifyCleared: true });
  });

  test('an update sets the fields given and returns others to the defaults, leaving the rest as they are', async () => {
    const { registry, policyOf } = await setup();
    await registry.register(ID, { alertPolicy: { cooldown: 5 * MIN, minUnread: 3, quietHours: null } });

    expect(await registry.update(ID, { alertPolicy: { maxReminders: 1 }, alertPolicyToDefault: ['quietHours'] })).toBe(true);

    expect(await policyOf()).toEqual({ minUnread: 3, cooldown: '5m', maxReminders: 1 });
  });

  test('returning every field to the defaults removes the attribute', async () => {
    const { registry, policyOf } = await setup();
    await registry.register(ID, { alertPolicy: { cooldown: 5 * MIN } });

    await registry.update(ID, { alertPolicyToDefault: ['cooldown'] });

    expect(await policyOf()).toBeUndefined();
  });

  test('two updates at once of different fields both land (each re-reads when the other changed the policy first)', async () => {
    const { registry, policyOf } = await setup();
    await registry.register(ID);

    await Promise.all([
      registry.update(ID, { alertPolicy: { cooldown: 5 * MIN } }),
      registry.update(ID, { alertPolicy: { minUnread: 2 } }),
      registry.update(ID, { alertPolicy: { timeZone: 'Europe/Berlin' } }),
    ]);

    expect(await policyOf()).toEqual({ minUnread: 2, cooldown: '5m', timeZone: 'Europe/Berlin' });
  });

  test('an update of an identity that is not registered writes nothing and says so', async () => {
    const { registry, client, tableName } = await setup();

    expect(await registry.update(ID, { alertPolicy: { cooldown: 5 * MIN } })).toBe(false);

    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { identityId: { S: ID } } }));
    expect(Item).toBeUndefined();
  });
});
