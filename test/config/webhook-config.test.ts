import { ConfigError } from '../../lambda/config';
import { loadWebhookDispatcherConfig, queueNameOf, WEBHOOK_ENV } from '../../lambda/webhook-config';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Stack-WebhookDeliveries-1AB';
const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Stack-WebhookDeadLetters-2CD';
const ENV = { TABLE_NAME: 'Stack-RegistryTable-XYZ', [WEBHOOK_ENV.deliveryQueueUrl]: QUEUE, [WEBHOOK_ENV.deadLetterQueueUrl]: DLQ, POWERTOOLS_SERVICE_NAME: 'Stack' };

test('the dispatcher reads its queues and names its webhooks table after TABLE_NAME', () => {
  expect(loadWebhookDispatcherConfig(ENV)).toEqual({
    tableName: 'Stack-RegistryTable-XYZ',
    webhooksTableName: 'Stack-RegistryTable-XYZ-webhooks',
    deliveryQueueUrl: QUEUE,
    deadLetterQueueUrl: DLQ,
    serviceName: 'Stack',
  });
});

test.each([
  ['a missing queue', { [WEBHOOK_ENV.deliveryQueueUrl]: undefined }, 'missing WEBHOOK_DELIVERY_QUEUE_URL'],
  ['a queue that is not an SQS URL', { [WEBHOOK_ENV.deadLetterQueueUrl]: 'http://localhost/q' }, 'WEBHOOK_DEAD_LETTER_QUEUE_URL is not a standard SQS queue URL'],
  ['a table name too long to name its webhooks table after', { TABLE_NAME: 'x'.repeat(250) }, 'the table name is too long for its webhooks table'],
])('refuses %s, naming the variable', (_what, change, message) => {
  expect(() => loadWebhookDispatcherConfig({ ...ENV, ...change })).toThrow(ConfigError);
  expect(() => loadWebhookDispatcherConfig({ ...ENV, ...change })).toThrow(message);
});

test('the queue name of a URL and of an ARN agree', () => {
  expect(queueNameOf(QUEUE)).toBe(queueNameOf('arn:aws:sqs:eu-west-1:123456789012:Stack-WebhookDeliveries-1AB'));
});
