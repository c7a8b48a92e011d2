/**
 * The Function URL handler of the re-poll endpoint, wired as in AWS: the marker on DynamoDB
 * (dynalite here), the queue on SQS and the secrets in Secrets Manager (both mocked). Its whole
 * output (Powertools logs and EMF metrics) is captured: no secret, no payload content.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { createTestTable } from '../support/dynalite';
import { captureOutput, emfMetric, LAMBDA_CONTEXT } from '../support/handler-harness';

type Handler = (event: LambdaFunctionURLEvent, context: typeof LAMBDA_CONTEXT) => Promise<LambdaFunctionURLResult>;
type Result = Exclude<LambdaFunctionURLResult, string>;

const SECRET_ID = 'unread-notifier/repoll-secret';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/unread-notifier-repoll';
const CURRENT = 'current-secret-4f9a1c2e7b';
const PREVIOUS = 'previous-secret-8d3b6a0f51';
const CANARY = 'CANARY-5d1f0e';
const sqs = mockClient(SQSClient);
const sm = mockClient(SecretsManagerClient);
const savedEnv = { ...process.env };
const sent: SendMessageBatchCommandInput[] = [];

let load: Handler;

/** Invokes the handler with its output captured (so none reaches the test log) and kept for assertions. */
async function handler(event: LambdaFunctionURLEvent, context = LAMBDA_CONTEXT): Promise<Result> {
  const { result, output } = await captureOutput(() => load(event, context));
  written += output;
  if (result.status === 'rejected') throw result.reason;
  return result.value as Result;
}
let written = '';

beforeAll(async () => {
  const table = await createTestTable();
  for (const id of ['558355', '52969', '700001', '700002']) await table.registry.register(parseIdentityId(id));
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    REPOLL_QUEUE_URL: QUEUE_URL,
    REPOLL_SECRET_ID: SECRET_ID,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNALITE_ENDPOINT ?? '',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  load = (require('../../lambda/handlers/repoll-endpoint') as { handler: Handler }).handler;
});

afterAll(() => {
  process.env = savedEnv;
});

beforeEach(() => {
  sqs.reset();
  sm.reset();
  sent.length = 0;
  written = '';
  sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ current: CURRENT, previous: PREVIOUS }) });
  sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
    sent.push(input);
    return { Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })), Failed: [] };
  });
});

function urlEvent(path: string, body: string, options: { headers?: Record<string, string>; base64?: boolean; method?: string } = {}): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'abc.lambda-url.eu-west-1.on.aws', ...options.headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc',
      http: { method: options.method ?? 'POST', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'CommBox' },
      requestId: 'r-1',
      routeKey: '$default',
      stage: '$default',
      time: '12/Feb/2026:15:09:23 +0000',
      timeEpoch: 1_770_000_000_000,
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
  };
}

const onNew = (id: string): string =>
  `{"payload":{"Message":"text ${CANARY}","User":{"Identity":{"Id":${id}},"Email":"${CANARY}@example.com","Phone1":"+1${CANARY}"}},"ObjectId":"762"}`;

describe('the re-poll endpoint Lambda handler', () => {
  test('a CommBox OnNew to /repoll/<secret> (base64 body) is answered 202 and queues the identity on SQS', async () => {
    const response = await handler(urlEvent(`/repoll/${CURRENT}`, onNew('558355'), { base64: true }));

    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body ?? '')).toEqual({ accepted: ['558355'], ignored: [] });
    expect(sent).toEqual([{ QueueUrl: QUEUE_URL, Entries: [expect.objectContaining({ Id: 'm0', DelaySeconds: 0, MessageBody: expect.stringContaining('"identityId":"558355"') })] }]);
    expect(emfMetric(written, 'RepollPollNow')).toBe(1);
    expect(emfMetric(written, 'RepollAccepted')).toBe(1);
  });

  test('the previous secret in Authorization: Bearer is accepted during a rotation; the encoded id reaches its identity', async () => {
    const response = await handler(urlEvent('/repoll', '{"User":{"Identity":{"Id":3377699720580841}}}', { headers: { authorization: `Bearer ${PREVIOUS}` } }));

    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body ?? '')).toEqual({ accepted: ['52969'], ignored: [] });
  });

  test('a wrong secret is 401 and queues nothing', async () => {
    const response = await handler(urlEvent('/repoll/not-the-secret-at-all', onNew('558355')));

    expect(response.statusCode).toBe(401);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
  });

  test('a second request within the window queues the trailing poll with DelaySeconds', async () => {
    const clock = jest.spyOn(Date, 'now').mockReturnValue(1_770_000_000_000);
    try {
      await handler(urlEvent('/repoll', '{"identityIds":["700001"]}', { headers: { authorization: `Bearer ${CURRENT}` } }));
      clock.mockReturnValue(1_770_000_000_300);
      await handler(urlEvent('/repoll', '{"identityIds":["700001"]}', { headers: { authorization: `Bearer ${CURRENT}` } }));
    } finally {
      clock.mockRestore();
    }

    const delays = sent.flatMap((input) => (input.Entries ?? []).map((e) => e.DelaySeconds));
    expect(delays).toEqual([0, 2]);
  });

  test('nothing it writes carries a secret or payload content, whatever the request', async () => {
    const events = [
      urlEvent(`/repoll/${CURRENT}`, onNew('700002')),
      urlEvent(`/repoll/${CURRENT}`, `${onNew('700002')}}`),
      urlEvent(`/repoll/${CURRENT}`, `{"identityIds":["${CANARY}"]}`),
      urlEvent(`/repoll/${PREVIOUS}-typo`, onNew('700002')),
      urlEvent('/repoll', onNew('700002'), { headers: { authorization: `Bearer ${CURRENT}` } }),
      urlEvent(`/${CURRENT}`, onNew('700002')),
      urlEvent(`/repoll/${CURRENT}`, onNew('700002'), { method: 'PUT' }),
    ];

    for (const event of events) await handler(event);

    expect(written.match(/re-poll request/g)).toHaveLength(events.length);
    expect(written).toContain('/repoll/***');
    for (const forbidden of [CURRENT, PREVIOUS, CANARY]) expect(written).not.toContain(forbidden);
    for (const input of sent) expect(JSON.stringify(input)).not.toContain(CANARY);
  });
});
