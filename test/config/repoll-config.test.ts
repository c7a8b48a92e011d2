import { ConfigError } from '../../lambda/config';
import { loadRepollEndpointConfig, repollWindowMs } from '../../lambda/repoll-config';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/unread-notifier-repoll';
const env = { TABLE_NAME: 'unread-notifier', REPOLL_QUEUE_URL: QUEUE_URL, REPOLL_SECRET_ID: 'unread-notifier/repoll-secret' };

describe('loadRepollEndpointConfig', () => {
  it('reads the table, the queue, the secret id and the default 2 s window', () => {
    expect(loadRepollEndpointConfig(env)).toEqual({ tableName: 'unread-notifier', queueUrl: QUEUE_URL, secretId: 'unread-notifier/repoll-secret', windowMs: 2_000 });
  });

  it.each(['REPOLL_QUEUE_URL', 'REPOLL_SECRET_ID'])('fails naming %s when it is missing', (name) => {
    expect(() => loadRepollEndpointConfig({ ...env, [name]: '' })).toThrow(new ConfigError(`missing ${name}`));
  });

  it('refuses a queue URL that is not one', () => {
    expect(() => loadRepollEndpointConfig({ ...env, REPOLL_QUEUE_URL: 'http://example.com/q' })).toThrow(/REPOLL_QUEUE_URL is not an SQS queue URL/);
  });
});

describe('repollWindowMs', () => {
  it.each([
    [undefined, 2_000],
    ['', 2_000],
    ['0', 0],
    ['500', 500],
    ['60000', 60_000],
  ])('%j is %i ms', (raw, ms) => {
    expect(repollWindowMs({ REPOLL_WINDOW_MS: raw })).toBe(ms);
  });

  it.each(['-1', '2s', '60001', '1.5'])('refuses %j naming the variable', (raw) => {
    expect(() => repollWindowMs({ REPOLL_WINDOW_MS: raw })).toThrow(/REPOLL_WINDOW_MS must be an integer from 0 to 60000/);
  });
});
