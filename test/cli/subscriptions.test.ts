import {
  AuthorizationErrorException,
  GetSubscriptionAttributesCommand,
  InvalidParameterException,
  ListSubscriptionsByTopicCommand,
  NotFoundException,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cli } from '../support/cli-harness';

// `subscriptions` against a mocked SNS: the call shapes, the filter policies, the refusals.
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:UnreadNotifier-EventsTopic';
const SUBSCRIPTION_ARN = `${TOPIC_ARN}:0b4f6ae4-7d2c-4c5e-9b1e-1c2d3e4f5a6b`;
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:unread-events';
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:on-unread';
const snsMock = mockClient(SNSClient);

const run = (args: string[], env: Record<string, string | undefined> = { TOPIC_ARN }) => cli(['subscriptions', ...args], { AWS_REGION: 'us-east-1', ...env });

function subscribeInput(): { Protocol?: string; Endpoint?: string; Attributes?: Record<string, string>; ReturnSubscriptionArn?: boolean } {
  return snsMock.commandCalls(SubscribeCommand)[0]!.args[0].input;
}

function filterPolicySent(): unknown {
  const policy = subscribeInput().Attributes?.FilterPolicy;
  return policy === undefined ? undefined : JSON.parse(policy);
}

beforeEach(() => {
  snsMock.reset();
  snsMock.on(SubscribeCommand).resolves({ SubscriptionArn: SUBSCRIPTION_ARN });
});

describe('unread-notifier subscriptions add', () => {
  test('an email gets alerts by default, prints the ARN on stdout and says confirmation is pending', async () => {
    const result = await run(['add', '--email', 'team@example.com']);

    expect(result).toMatchObject({ code: 0, stdout: `${SUBSCRIPTION_ARN}\n` });
    expect(subscribeInput()).toMatchObject({ Protocol: 'email', Endpoint: 'team@example.com', ReturnSubscriptionArn: true });
    expect(filterPolicySent()).toEqual({ eventType: ['unread.alert'] });
    expect(result.stderr).toMatch(/^subscribed email team@example.com: unread.alert events\npending confirmation: SNS sent a confirmation email/);
  });

  test('an SMS number gets alerts by default and needs no confirmation', async () => {
    const result = await run(['add', '--sms', '+14155550100', '--identity', '558355']);

    expect(result.code).toBe(0);
    expect(filterPolicySent()).toEqual({ identityId: ['558355'], eventType: ['unread.alert'] });
    expect(result.stderr).not.toMatch(/pending confirmation/);
  });

  test('a queue gets every change with raw delivery, and is told the exact queue policy command', async () => {
    const result = await run(['add', '--sqs', QUEUE_ARN, '--direction', 'increased']);

    expect(result.code).toBe(0);
    expect(subscribeInput().Attributes).toMatchObject({ RawMessageDelivery: 'true' });
    expect(filterPolicySent()).toEqual({ eventType: ['unread.changed'], direction: ['increased'] });
    const command = result.stderr.split('\n').find((line) => line.trim().startsWith('aws sqs set-queue-attributes'))!;
    expect(command).toContain('--region eu-west-1 --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/unread-events --attributes ');
    const attributes = JSON.parse(/--attributes '(.*)'$/.exec(command)![1]!) as { Policy: string };
    expect(JSON.parse(attributes.Policy)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AllowUnreadNotifierTopic',
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: QUEUE_ARN,
          Condition: { ArnEquals: { 'aws:SourceArn': TOPIC_ARN } },
        },
      ],
    });
  });

  test('a function is told the exact lambda add-permission command', async () => {
    const result = await run(['add', '--lambda', FUNCTION_ARN]);

    expect(result.code).toBe(0);
    expect(subscribeInput().Attributes).toEqual({ FilterPolicy: '{"eventType":["unread.changed"]}' });
    expect(result.stderr).toContain(
      `  aws lambda add-permission --region eu-west-1 --function-name ${FUNCTION_ARN} --statement-id unread-notifier-UnreadNotifier-EventsTopic ` +
        `--action lambda:InvokeFunction --principal sns.amazonaws.com --source-arn ${TOPIC_ARN}\n`,
    );
  });

  test('an https webhook with alerts, identities and a direction: the direction filters changes only', async () => {
    const result = await run([
      'add',
      '--https',
      'https://hooks.example.com/unread',
      '--events',
      'unread.changed,unread.alert',
      '--identity',
      '558355',
      '--identity',
      '9223372036854775807',
      '--direction',
      'decreased',
    ]);

    expect(result.code).toBe(0);
    expect(filterPolicySent()).toEqual({
      identityId: ['558355', '9223372036854775807'],
      $or: [{ eventType: ['unread.changed'], direction: ['decreased'] }, { eventType: ['unread.alert'] }],
    });
    expect(subscribeInput().Attributes).not.toHaveProperty('RawMessageDelivery');
    expect(JSON.parse(subscribeInput().Attributes!.DeliveryPolicy!)).toMatchObject({ healthyRetryPolicy: { numRetries: 20 } });
    expect(result.stderr).toMatch(/pending confirmation: SNS posted a SubscriptionConfirmation/);
  });

  test('the SNS client is made for the topic’s region, whatever AWS_REGION says', async () => {
    await run(['add', '--email', 'team@example.com']);

    const client = snsMock.send.getCall(0).thisValue as SNSClient;
    await expect(client.config.region()).resolves.toBe('eu-west-1');
  });

  test.each([
    [['--email', 'not-an-address'], /--email "not-an-address" is not an email address/],
    [['--sms', '0415550100'], /--sms "0415550100" is not an E.164 phone number/],
    [['--https', 'http://hooks.example.com/x'], /--https "http:\/\/hooks.example.com\/x" is not an https URL/],
    [['--https', 'https://user:pw@hooks.example.com/x'], /is not an https URL without credentials/],
    [['--sqs', 'arn:aws:sns:eu-west-1:123456789012:q'], /--sqs .* is not an SQS queue ARN/],
    [['--lambda', 'on-unread'], /--lambda "on-unread" is not a Lambda function ARN/],
    [[], /give exactly one endpoint: --email, --sms, --https, --sqs, --lambda$/],
    [['--email', 'a@example.com', '--sms', '+14155550100'], /give exactly one endpoint: .* \(got --email and --sms\)/],
    [['--email', 'a@example.com', '--events', 'unread.deleted'], /--events: unknown event type "unread.deleted"/],
    [['--email', 'a@example.com', '--events', ','], /--events needs at least one of/],
    [['--email', 'a@example.com', '--identity', '012'], /--identity: invalid identity id "012"/],
    [['--sqs', QUEUE_ARN, '--direction', 'up'], /--direction must be increased or decreased, got "up"/],
    [['--email', 'a@example.com', '--direction', 'increased'], /--direction applies to unread.changed events only, and email subscriptions get unread.alert unless --events/],
    [['--sqs', QUEUE_ARN, '--events', 'unread.alert', '--direction', 'increased'], /--direction applies to unread.changed events only, and --events has no unread.changed/],
    [['--email', 'a@example.com', '--colour', 'red'], /unknown option '--colour'/],
  ])('add %j is refused with one line, exit code 2 and no SNS call', async (args, message) => {
    const result = await run(['add', ...args]);

    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(snsMock.calls()).toHaveLength(0);
  });

  test('without a topic the command is refused naming TOPIC_ARN and --topic-arn', async () => {
    const result = await run(['add', '--email', 'team@example.com'], { TOPIC_ARN: undefined });

    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe("unread-notifier: error: no topic: set TOPIC_ARN or pass --topic-arn (the stack's TopicArn output)\n");
    expect(snsMock.calls()).toHaveLength(0);
  });

  test('--topic-arn names the topic as TOPIC_ARN does', async () => {
    const other = 'arn:aws:sns:us-west-2:123456789012:Other';

    await cli(['--topic-arn', other, 'subscriptions', 'add', '--email', 'team@example.com'], { TOPIC_ARN: undefined });

    expect(snsMock).toHaveReceivedCommandWith(SubscribeCommand, { TopicArn: other });
  });

  test.each([
    ['AuthorizationError', new AuthorizationErrorException({ message: 'User is not authorized to perform: SNS:Subscribe', $metadata: {} }), /^unread-notifier: error: SNS refused Subscribe on topic .*: not authorized; the credentials need sns:Subscribe/],
    ['NotFound', new NotFoundException({ message: 'Topic does not exist', $metadata: {} }), /^unread-notifier: error: SNS Subscribe: topic .* not found; check TOPIC_ARN/],
    ['InvalidParameter', new InvalidParameterException({ message: 'Invalid parameter: Endpoint', $metadata: {} }), /^unread-notifier: error: SNS refused Subscribe on topic .*: Invalid parameter: Endpoint$/],
  ])('SNS answering %s is one line and exit code 1', async (_name, error, message) => {
    snsMock.on(SubscribeCommand).rejects(error);

    const result = await run(['add', '--email', 'team@example.com']);

    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
  });
});

describe('unread-notifier subscriptions list', () => {
  beforeEach(() => {
    snsMock.on(ListSubscriptionsByTopicCommand).resolves({
      Subscriptions: [
        { SubscriptionArn: SUBSCRIPTION_ARN, Protocol: 'sqs', Endpoint: QUEUE_ARN },
        { SubscriptionArn: 'PendingConfirmation', Protocol: 'email', Endpoint: 'team@example.com' },
      ],
    });
    snsMock.on(GetSubscriptionAttributesCommand).resolves({
      Attributes: { FilterPolicy: '{"identityId":["558355"],"eventType":["unread.changed"],"direction":["increased"]}', RawMessageDelivery: 'true', PendingConfirmation: 'false' },
    });
  });

  test('one line per subscription, with what it receives in words', async () => {
    const result = await run(['list']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')).toEqual([
      `${SUBSCRIPTION_ARN}\tsqs\t${QUEUE_ARN}\tunread.changed events, of identity 558355, unread.changed only when increased, raw delivery`,
      '(no ARN yet)\temail\tteam@example.com\tpending confirmation; every event',
      '',
    ]);
  });

  test('--json prints one array with the filter policies as SNS holds them', async () => {
    const result = await run(['list', '--json']);

    expect(JSON.parse(result.stdout)).toEqual([
      {
        subscriptionArn: SUBSCRIPTION_ARN,
        protocol: 'sqs',
        endpoint: QUEUE_ARN,
        pendingConfirmation: false,
        filterPolicy: { identityId: ['558355'], eventType: ['unread.changed'], direction: ['increased'] },
        rawMessageDelivery: true,
      },
      { subscriptionArn: null, protocol: 'email', endpoint: 'team@example.com', pendingConfirmation: true, filterPolicy: null },
    ]);
  });

  test('a topic without subscriptions says so', async () => {
    snsMock.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });

    expect(await run(['list'])).toMatchObject({ code: 0, stdout: `no subscriptions on ${TOPIC_ARN}\n` });
  });
});

describe('unread-notifier subscriptions remove', () => {
  test('unsubscribes a subscription of the topic', async () => {
    snsMock.on(UnsubscribeCommand).resolves({});

    const result = await run(['remove', SUBSCRIPTION_ARN]);

    expect(result).toMatchObject({ code: 0, stdout: `removed subscription ${SUBSCRIPTION_ARN}\n` });
    expect(snsMock).toHaveReceivedCommandWith(UnsubscribeCommand, { SubscriptionArn: SUBSCRIPTION_ARN });
  });

  test.each([
    ['arn:aws:sns:eu-west-1:123456789012:Other:0b4f6ae4-7d2c-4c5e-9b1e-1c2d3e4f5a6b', /is not a subscription of arn:aws:sns:eu-west-1:123456789012:UnreadNotifier-EventsTopic/],
    [TOPIC_ARN, /is not an SNS subscription ARN/],
    ['PendingConfirmation', /waits for its confirmation is listed without an ARN/],
  ])('%s is refused with one line, exit code 2 and no SNS call', async (arn, message) => {
    const result = await run(['remove', arn]);

    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(snsMock.calls()).toHaveLength(0);
  });

  test('a subscription SNS does not know is one line and exit code 1', async () => {
    snsMock.on(UnsubscribeCommand).rejects(new NotFoundException({ message: 'Subscription does not exist', $metadata: {} }));

    const result = await run(['remove', SUBSCRIPTION_ARN]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`unread-notifier: error: SNS Unsubscribe: subscription ${SUBSCRIPTION_ARN} not found; check TOPIC_ARN (or --topic-arn) and that the stack is deployed: Subscription does not exist\n`);
  });
});
