import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../lambda/config';
import { ENV, METRICS, TABLE_KEY } from '../../lambda/env-names';
import { loadRepollEndpointConfig, REPOLL_ENV, REPOLL_METRICS } from '../../lambda/repoll-config';
import { REPOLL_CONSUMER_TIMEOUT, REPOLL_MAX_RECEIVES } from '../../lib/repoll-endpoint';
import { UnreadNotifierStack } from '../../lib/unread-notifier-stack';
import { CONFIGURED_PROPS, SAMPLE_REFERENCE_VALUES, testApp } from './fixtures';

// The re-poll endpoint of the stack: a public Function URL, its secret, the queue with its DLQ,
// the consumer, their permissions, alarms and dashboard row. One synth for every test.
const app = testApp({ cloudFormationValidation: false });
const defaultsStack = new UnreadNotifierStack(app, 'Defaults');
const tunedStack = new UnreadNotifierStack(app, 'Tuned', { ...CONFIGURED_PROPS, repollEndpointConcurrency: 0, repollConsumerConcurrency: 4, repollWindow: Duration.millis(1500) });
const defaults = Template.fromStack(defaultsStack);
const tuned = Template.fromStack(tunedStack);

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

function resources(template: Template, type: string, props: Record<string, unknown>): [string, Resource][] {
  return Object.entries(template.findResources(type, { Properties: Match.objectLike(props) })) as [string, Resource][];
}

function only(template: Template, type: string, props: Record<string, unknown>): [string, Resource] {
  const found = resources(template, type, props);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const endpointFn = (template: Template): [string, Resource] => only(template, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('the re-poll endpoint \\(') });
const consumerFn = (template: Template): [string, Resource] => only(template, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('polls the identities the re-poll endpoint queued') });
const pollerFn = (template: Template): [string, Resource] => only(template, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('one poll cycle') });
const envOf = (fn: Resource): Record<string, unknown> => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const repollQueue = (template: Template): string => only(template, 'AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: REPOLL_MAX_RECEIVES }) })[0];
const repollSecret = (template: Template): string => only(template, 'AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('re-poll endpoint') })[0];
/** The registry table (the stack also has the webhooks table). */
const table = (template: Template): string => only(template, 'AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' }] })[0];

function statementsOf(template: Template, fn: Resource): Record<string, unknown>[] {
  const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } })) as Resource[];
  expect(policies).toHaveLength(1);
  return (policies[0]!.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
}
const actionsOf = (statements: Record<string, unknown>[]): string[] => statements.flatMap((s) => [s.Action as string | string[]].flat()).sort();

describe('the endpoint: a public Function URL', () => {
  test('auth NONE (CommBox sends no credentials), buffered, and a resource policy for the URL only', () => {
    const [fn] = endpointFn(defaults);
    defaults.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', InvokeMode: 'BUFFERED', TargetFunctionArn: { 'Fn::GetAtt': [fn, 'Arn'] }, Cors: Match.absent() });
    // The public permissions are the URL's two (InvokeFunctionUrl, and InvokeFunction only through the URL).
    const permissions = resources(defaults, 'AWS::Lambda::Permission', { Principal: '*' }).map(([, r]) => r.Properties);
    expect(permissions).toEqual([
      expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE', FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] } }),
      expect.objectContaining({ Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true, FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] } }),
    ]);
  });

  test('output RepollUrl: the URL without its trailing slash, so <RepollUrl>/repoll/<secret> is one path', () => {
    const [url] = only(defaults, 'AWS::Lambda::Url', {});
    defaults.hasOutput('RepollUrl', {
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [url, 'FunctionUrl'] }] }] }]] },
    });
    defaults.hasOutput('RepollSecretArn', { Value: { Ref: repollSecret(defaults) } });
  });

  test('throttled by reserved concurrency (5 by default; 0 reserves none)', () => {
    expect(endpointFn(defaults)[1].Properties.ReservedConcurrentExecutions).toBe(5);
    expect(endpointFn(tuned)[1].Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('its environment: the table, the queue, the secret id, the window, the stack as metrics service; no secret value', () => {
    expect(envOf(endpointFn(defaults)[1])).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      [ENV.tableName]: { Ref: table(defaults) },
      [REPOLL_ENV.queueUrl]: { Ref: repollQueue(defaults) },
      [REPOLL_ENV.secretId]: { Ref: repollSecret(defaults) },
      [REPOLL_ENV.windowMs]: '2000',
      [ENV.serviceName]: 'Defaults',
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    });
    expect(envOf(endpointFn(tuned)[1])[REPOLL_ENV.windowMs]).toBe('1500');
  });

  test('the runtime accepts the environment the stack gives it (loadRepollEndpointConfig)', () => {
    const env = envOf(endpointFn(defaults)[1]);
    const sampled = {
      ...env,
      [ENV.tableName]: SAMPLE_REFERENCE_VALUES.table,
      [REPOLL_ENV.queueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Defaults-RepollQueue-1ABC',
      [REPOLL_ENV.secretId]: SAMPLE_REFERENCE_VALUES.secretArn,
    } as Record<string, string>;
    expect(loadRepollEndpointConfig(sampled)).toMatchObject({ windowMs: 2000, serviceName: 'Defaults' });
  });

  test('IAM: the marker\'s conditional update and read on identity items only, send to its queue, read its secret; nothing else', () => {
    const statements = statementsOf(defaults, endpointFn(defaults)[1]);
    expect(actionsOf(statements)).toEqual(
      ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'].sort(),
    );
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: { 'Fn::GetAtt': [table(defaults), 'Arn'] },
      Condition: { 'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': ['#*'] } },
    });
    expect(statements).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']), Resource: { 'Fn::GetAtt': [repollQueue(defaults), 'Arn'] } }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['secretsmanager:GetSecretValue']), Resource: { Ref: repollSecret(defaults) } }));
  });
});

describe('the secret', () => {
  test('generated as {"current":"<48 letters and digits>","previous":""} (a URL path segment as is), retained', () => {
    defaults.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        Description: Match.stringLikeRegexp('re-poll endpoint'),
        GenerateSecretString: { SecretStringTemplate: '{"previous":""}', GenerateStringKey: 'current', PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false },
      }),
    });
  });
});

describe('the queue', () => {
  test('encrypted, visibility six times the consumer timeout, an hour of retention, dead-lettered after three receives', () => {
    const [, queue] = only(defaults, 'AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: REPOLL_MAX_RECEIVES }) });
    const dlq = (queue.Properties.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] } }).deadLetterTargetArn['Fn::GetAtt'][0];
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, VisibilityTimeout: REPOLL_CONSUMER_TIMEOUT.toSeconds() * 6, MessageRetentionPeriod: 3600 });
    expect((defaults.toJSON().Resources as Record<string, Resource>)[dlq]?.Properties).toMatchObject({ SqsManagedSseEnabled: true, RedriveAllowPolicy: { redrivePermission: 'allowAll' } });
  });
});

describe('the consumer', () => {
  test('the SQS event source: batches of 10, partial batch responses, at most 2 at once (no reserved concurrency: no quota taken)', () => {
    const [fn, resource] = consumerFn(defaults);
    defaults.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fn },
      EventSourceArn: { 'Fn::GetAtt': [repollQueue(defaults), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
    expect(resource.Properties).toMatchObject({ Timeout: REPOLL_CONSUMER_TIMEOUT.toSeconds() });
    expect(resource.Properties.ReservedConcurrentExecutions).toBeUndefined();
    tuned.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 4 } });
  });

  test("polls with the poller's settings; its own claim lease outlasts its own run", () => {
    for (const template of [defaults, tuned]) {
      const poller = envOf(pollerFn(template)[1]);
      const consumer = envOf(consumerFn(template)[1]);
      expect(consumer).toEqual({ ...poller, [ENV.claimLeaseSeconds]: String(REPOLL_CONSUMER_TIMEOUT.toSeconds() + 60) });
      expect(consumerFn(template)[1].Properties.Handler).toBe('index.handler');
    }
  });

  test('the runtime accepts its environment (loadConfig), as the poller does', () => {
    const env = Object.fromEntries(
      Object.entries(envOf(consumerFn(defaults)[1])).map(([key, value]) => [
        key,
        typeof value === 'string' ? value : key === ENV.tableName ? SAMPLE_REFERENCE_VALUES.table : key === ENV.topicArn ? SAMPLE_REFERENCE_VALUES.topicArn : SAMPLE_REFERENCE_VALUES.secretArn,
      ]),
    );
    expect(loadConfig(env).claimLeaseMs).toBe((REPOLL_CONSUMER_TIMEOUT.toSeconds() + 60) * 1000);
  });

  test('IAM: GetItem, BatchGetItem and UpdateItem on identity items only (no scan, no resume point), GetItem on the open runs, publish, read the token, consume its queue', () => {
    const statements = statementsOf(defaults, consumerFn(defaults)[1]);
    expect(actionsOf(statements)).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'sns:Publish',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ].sort(),
    );
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: { 'Fn::GetAtt': [table(defaults), 'Arn'] },
      Condition: { 'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': ['#*'] } },
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: { 'Fn::GetAtt': [table(defaults), 'Arn'] },
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['#runs'] } },
    });
    for (const s of statements) expect([s.Resource].flat()).not.toContain('*');
  });
});

describe('alarms and dashboard', () => {
  type Alarm = { AlarmActions: unknown; Threshold: number; EvaluationPeriods: number; MetricName?: string; Namespace?: string; Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string } } }[] };
  const alarms = (template: Template): Record<string, Alarm> =>
    Object.fromEntries(
      (Object.entries(template.findResources('AWS::CloudWatch::Alarm')) as [string, Resource][]).filter(([id]) => id.startsWith('Repoll')).map(([id, r]) => [id.replace(/[0-9A-F]{8}$/, ''), r.Properties as unknown as Alarm]),
    );

  test('4xx and 5xx rates of the URL, consumer errors, queue age; each to the alarm topic', () => {
    const found = alarms(defaults);
    expect(Object.keys(found).sort()).toEqual(['RepollConsumerErrors', 'RepollQueueAge', 'RepollUrl4xxRate', 'RepollUrl5xxRate']);
    const topic = only(defaults, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier alarms' })[0];
    for (const alarm of Object.values(found)) expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
    const rate = (alarm: Alarm | undefined): string[] => (alarm?.Metrics ?? []).map((m) => m.Expression ?? m.MetricStat?.Metric.MetricName ?? '');
    expect(rate(found.RepollUrl4xxRate)).toEqual(['IF(requests >= 10, 100 * errors / requests, 0)', 'UrlRequestCount', 'Url4xxCount']);
    expect(rate(found.RepollUrl5xxRate)).toEqual(['IF(requests >= 1, 100 * errors / requests, 0)', 'UrlRequestCount', 'Url5xxCount']);
    expect(found.RepollQueueAge).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 120 });
  });

  test('the dead-letter queue is alarmed on with the others', () => {
    const queue = (defaults.toJSON().Resources as Record<string, Resource>)[repollQueue(defaults)]!;
    const dlqId = (queue.Properties.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] } }).deadLetterTargetArn['Fn::GetAtt'][0];
    defaults.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
    });
  });

  test("a dashboard row: requests and answers, the endpoint's decisions under this stack's service, the queue and the consumer", () => {
    const body = JSON.stringify(only(defaults, 'AWS::CloudWatch::Dashboard', {})[1].Properties.DashboardBody);
    for (const title of ['Re-poll endpoint: requests and answers', 'Re-poll endpoint: identities', 'Re-poll queue and consumer']) expect(body).toContain(title);
    for (const name of [REPOLL_METRICS.pollNow, REPOLL_METRICS.collapsed, REPOLL_METRICS.ignoredUnregistered, REPOLL_METRICS.consumerPolled]) {
      expect(body).toContain(`\\"${METRICS.namespace}\\",\\"${name}\\",\\"service\\",\\"Defaults\\"`);
    }
    expect(body).toContain('Url4xxCount');
  });
});

describe('props', () => {
  test('a consumer concurrency below the SQS event source minimum (2) is refused at synth', () => {
    expect(() => new UnreadNotifierStack(testApp({ cloudFormationValidation: false }), 'Bad', { repollConsumerConcurrency: 1 })).toThrow(/repollConsumerConcurrency must be an integer from 2/);
  });
});
