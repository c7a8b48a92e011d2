import 'aws-cdk-lib/testhelpers/jest-autoclean';
import type { CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { WEBHOOKS_TABLE, ENV, METRICS } from '../../lambda/env-names';
import { loadWebhookDispatcherConfig, WEBHOOK_ENV, WEBHOOK_METRICS } from '../../lambda/webhook-config';
import { UnreadNotifierStack } from '../../lib/unread-notifier-stack';
import { WEBHOOK_DISPATCHER_TIMEOUT } from '../../lib/webhook-dispatcher';
import { CONFIGURED_PROPS, testApp } from './fixtures';

// The template tests (stack.test.ts) run CloudFormation's own validation on these resources.
const app = testApp({ cloudFormationValidation: false });
const defaultsStack = new UnreadNotifierStack(app, 'Defaults');
const configuredStack = new UnreadNotifierStack(app, 'Configured', CONFIGURED_PROPS);
const defaults = Template.fromStack(defaultsStack);
const configured = Template.fromStack(configuredStack);

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Ref = { Ref: string } | { 'Fn::GetAtt': [string, string] };

function resources(template: Template): Record<string, Resource> {
  return template.toJSON().Resources as Record<string, Resource>;
}

function only(template: Template, type: string, props: Record<string, unknown>): [string, Resource] {
  const found = Object.entries(template.findResources(type, { Properties: Match.objectLike(props) })) as [string, Resource][];
  expect(found).toHaveLength(1);
  return found[0]!;
}

const dispatcherOf = (template: Template): [string, Resource] => only(template, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('signed webhooks') });
const registryOf = (template: Template): string => only(template, 'AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'identityId', KeyType: 'HASH' }] })[0];
const webhooksTableOf = (template: Template): [string, Resource] =>
  only(template, 'AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: WEBHOOKS_TABLE.partitionKey, KeyType: 'HASH' }, { AttributeName: WEBHOOKS_TABLE.sortKey, KeyType: 'RANGE' }] });
const queueOf = (template: Template, ref: Ref): Resource => resources(template)['Ref' in ref ? ref.Ref : ref['Fn::GetAtt'][0]]!;

function statementsOf(template: Template): Record<string, unknown>[] {
  const role = (dispatcherOf(template)[1].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } })) as Resource[];
  expect(policies).toHaveLength(1);
  return (policies[0]!.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
}

describe('webhooks table', () => {
  test('named after the registry (the CLI finds it from TABLE_NAME), endpoints and logs under a partition and a sort key', () => {
    const [, table] = webhooksTableOf(defaults);
    expect(table.Properties.TableName).toEqual({ 'Fn::Join': ['', [{ Ref: registryOf(defaults) }, WEBHOOKS_TABLE.suffix]] });
  });

  test('on demand, point-in-time recovery, KMS; retained and protected by default, destroyable in a test stack', () => {
    defaults.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        TableName: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
      }),
    });
    expect(webhooksTableOf(configured)[1].DeletionPolicy).toBe('Delete');
  });
});

describe('queues', () => {
  test('the topic reaches the event queue raw (the body is the event JSON), filtered to the webhook event types, with a DLQ', () => {
    const [, subscription] = only(defaults, 'AWS::SNS::Subscription', { Protocol: 'sqs' });
    expect(subscription.Properties).toMatchObject({
      RawMessageDelivery: true,
      FilterPolicy: { eventType: ['unread.changed', 'unread.alert'] },
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
    });
    const eventQueue = queueOf(defaults, subscription.Properties.Endpoint as Ref);
    expect(eventQueue.Properties).toMatchObject({ VisibilityTimeout: 360, RedrivePolicy: { maxReceiveCount: 5 } });
  });

  test('the delivery queue: one message per attempt, kept two days, hidden six function timeouts, poison to the dead letters after five receives', () => {
    const env = (dispatcherOf(defaults)[1].Properties.Environment as { Variables: Record<string, Ref> }).Variables;
    const delivery = queueOf(defaults, env[WEBHOOK_ENV.deliveryQueueUrl]!);
    const deadLetters = env[WEBHOOK_ENV.deadLetterQueueUrl] as { Ref: string };
    expect(delivery.Properties).toEqual(
      expect.objectContaining({
        VisibilityTimeout: WEBHOOK_DISPATCHER_TIMEOUT.toSeconds() * 6,
        MessageRetentionPeriod: 2 * 24 * 3600,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters.Ref, 'Arn'] }, maxReceiveCount: 5 },
      }),
    );
    expect(queueOf(defaults, deadLetters).Properties).toMatchObject({ MessageRetentionPeriod: 14 * 24 * 3600, RedriveAllowPolicy: { redrivePermission: 'allowAll' } });
  });
});

describe('dispatcher function', () => {
  test('the house bundling and runtime, one minute per batch', () => {
    expect(dispatcherOf(defaults)[1].Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', Timeout: 60, MemorySize: 256 });
  });

  test('environment: the registry name, its queues, its metrics service; the runtime accepts it', () => {
    const env = (dispatcherOf(defaults)[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env).sort()).toEqual(
      [ENV.tableName, WEBHOOK_ENV.deliveryQueueUrl, WEBHOOK_ENV.deadLetterQueueUrl, ENV.serviceName, 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS'].sort(),
    );
    expect(env).toMatchObject({ [ENV.tableName]: { Ref: registryOf(defaults) }, [ENV.serviceName]: 'Defaults', POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace });
    const sample = {
      ...env,
      [ENV.tableName]: 'Defaults-RegistryTable-1ABC',
      [WEBHOOK_ENV.deliveryQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Defaults-WebhooksDeliveryQueue-1AB',
      [WEBHOOK_ENV.deadLetterQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Defaults-WebhooksDeadLetters-2CD',
    } as Record<string, string>;
    expect(loadWebhookDispatcherConfig(sample)).toMatchObject({ webhooksTableName: 'Defaults-RegistryTable-1ABC-webhooks', serviceName: 'Defaults' });
  });

  test('both queues feed it in batches of 10 with partial batch responses; the delivery queue bounds its concurrency', () => {
    const mappings = (Object.values(defaults.findResources('AWS::Lambda::EventSourceMapping')) as Resource[]).map((m) => m.Properties);
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings) {
      expect(mapping).toMatchObject({ FunctionName: { Ref: dispatcherOf(defaults)[0] }, BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    }
    expect(mappings.map((m) => (m.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency).sort()).toEqual([10, 2]);
  });
});

describe('IAM: least privilege', () => {
  const actionsOf = (statement: Record<string, unknown>): string[] => [statement.Action as string | string[]].flat().sort();

  test('endpoint and log items of its own table only; the local-only partitions are out of reach', () => {
    const [table] = webhooksTableOf(defaults);
    const statement = statementsOf(defaults).find((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(statement).toEqual({
      Effect: 'Allow',
      Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      Resource: { 'Fn::GetAtt': [table, 'Arn'] },
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [WEBHOOKS_TABLE.endpointPartition, `${WEBHOOKS_TABLE.logPartitionPrefix}*`] } },
    });
  });

  test('reads only the secrets named under its webhooks table', () => {
    const [table] = webhooksTableOf(defaults);
    const statement = statementsOf(defaults).find((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(statement).toEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:', { Ref: table }, '/wh_*']],
      },
    });
  });

  test('no other actions than its queues, its table, its secrets and its log group; no "*" resource', () => {
    const statements = statementsOf(defaults);
    expect([...new Set(statements.flatMap(actionsOf))].sort()).toEqual(
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ].sort(),
    );
    for (const statement of statements) expect(statement.Resource).not.toBe('*');
    expect(JSON.stringify(statements)).not.toMatch(/kms:|sns:/);
  });
});

describe('alarms and dashboard', () => {
  const alarmTopic = (template: Template): string => only(template, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier alarms' })[0];

  test('dispatcher errors, disabled endpoints and delivery failures alarm on the alarm topic, on this stack only', () => {
    for (const [template, stack] of [[defaults, defaultsStack], [configured, configuredStack]] as const) {
      for (const alarmId of ['DispatcherErrors', 'EndpointDisabled', 'DeliveryFailures']) {
        const alarm = stack.webhooks.alarms[alarmId];
        const properties = resources(template)[stack.resolve((alarm?.node.defaultChild as CfnResource).logicalId) as string]!.Properties;
        expect([alarmId, properties.AlarmActions]).toEqual([alarmId, [{ Ref: alarmTopic(template) }]]);
      }
    }
    defaults.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS.namespace,
      MetricName: WEBHOOK_METRICS.endpointDisabled,
      Dimensions: [{ Name: 'service', Value: 'Defaults' }],
      Threshold: 1,
      AlarmDescription: Match.stringLikeRegexp('webhooks enable'),
    });
    defaults.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: WEBHOOK_METRICS.attemptFailed, Period: 900, Threshold: 10 });
  });

  test('a dashboard row: deliveries, failed attempts, dead letters, disabled endpoints and the queues', () => {
    const body = JSON.stringify(only(defaults, 'AWS::CloudWatch::Dashboard', {})[1].Properties.DashboardBody);
    for (const name of [WEBHOOK_METRICS.delivered, WEBHOOK_METRICS.attemptFailed, WEBHOOK_METRICS.deadLettered, WEBHOOK_METRICS.endpointDisabled]) {
      expect(body).toContain(`\\"${METRICS.namespace}\\",\\"${name}\\",\\"service\\",\\"Defaults\\"`);
    }
    expect(body).toContain('ApproximateAgeOfOldestMessage');
  });
});

test('outputs: the webhooks table and the dead-letter queue', () => {
  defaults.hasOutput('WebhooksTableName', { Value: { Ref: webhooksTableOf(defaults)[0] } });
  defaults.hasOutput('WebhookDeadLetterQueueUrl', { Value: { Ref: Match.anyValue() } });
});
