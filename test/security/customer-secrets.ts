import type { CommBoxSimulator } from '../../local/commbox-simulator';

/**
 * The customer data the simulator's payload carries for these identities, as the strings a
 * leak would show: names, phone, email, the message text and the national id inside it.
 */
export function customerSecrets(simulator: CommBoxSimulator, ids: readonly string[]): string[] {
  const secrets = new Set<string>();
  for (const id of ids) {
    const customer = simulator.world.customerData(id);
    for (const value of [customer.firstName, customer.lastName, customer.phone1, customer.email, ...customer.messages]) secrets.add(value);
    for (const message of customer.messages) {
      for (const digits of message.match(/\d{9,}/g) ?? []) secrets.add(digits);
    }
  }
  return [...secrets];
}
