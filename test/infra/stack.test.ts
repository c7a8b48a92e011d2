import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Duration } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../lambda/config';
import { parseAlertDefaults } from '../../lambda/core/alert-policy-parse';
import { ALERT_ENV, ENV, METRICS, TABLE_KEY } from '../../lambda/env-names';
import { CYCLE_KEY_PREFIX, RESUME_KEY_PREFIX } from '../../lambda/adapters/dynamodb-item-codec';
import { INTEGRATOR_QUEUE_RETENTION } from '../../lib/event-subscriptions';
import { POLLER_HANDLER } from '../../lib/poller';
import { UnreadNotifierStack } from '../../lib/unread-notifier-stack';
import { CONFIGURED_PROPS, SAMPLE_REFERENCE_VALUES, testApp } from './fixtures';

// One app, one synth: both stacks are synthesized together (and pass CDK's CloudFormation
// validation, which cdk.json makes fatal) and every test reads the templates.
const app = testApp();
const defaultsStack = new UnreadNotifierStack(app, 'Defaults');
const configuredStack = new UnreadNotifierStack(app, 'Configured', CONFIGURED_PROPS);
const defaults = Template.fromStack(defaultsStack);
const configured = Template.fromStack(configuredStack);

type Resource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string };

function only(template: Template, type: string, props?: Record<string, unknown>): [string, Resource] {
  const found = Object.entries(template.findResources(type, props ? { Properties: Match.objectLike(props) } : undefined)) as [string, Resource][];
  expect(found).toHaveLength(1);
  return found[0]!;
}

function logicalId(template: Template, type: string): string {
  return only(template, type)[0];
}

function logicalIdOf(template: Template, type: string, props: Record<string, unknown>): string {
  return only(template, type, props)[0];
}

/** The poller (the stack also has the webhook dispatcher and the re-poll functions: test/infra/repoll-endpoint.test.ts). */
function functionOf(template: Template): [string, Resource] {
  return only(template, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('one poll cycle') });
}

/** The CommBox token's secret (the other one is the re-poll endpoint's). */
function apiTokenSecretOf(template: Template): string {
  return only(template, 'AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('CommBox API bearer token') })[0];
}

/** The registry table (the stack also has the webhooks table). */
function registryTableOf(template: Template): string {
  return logicalIdOf(template, 'AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' }] });
}

/** The poller's log group. */
function pollerLogGroupOf(template: Template): string {
  return (functionOf(template)[1].Properties?.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
}

function envOf(template: Template): Record<string, unknown> {
  const env = functionOf(template)[1].Properties?.Environment as { Variables: Record<string, unknown> };
  return env.Variables;
}

/** The logical id of the KMS key that encrypts the topic with this display name. */
function topicKeyOf(template: Template, displayName: string): string {
  const [, topic] = only(template, 'AWS::SNS::Topic', { DisplayName: displayName });
  return (topic.Properties?.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

function keyStatements(template: Template, keyLogicalId: string): Record<string, unknown>[] {
  const key = (template.toJSON().Resources as Record<string, Resource>)[keyLogicalId];
  return (key?.Properties?.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
}

describe('table', () => {
  test('one item per identity: partition key identityId (String), no sort key', () => {
    defaults.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: TABLE_KEY.partitionKey, AttributeType: 'S' }],
    });
  });

  test('on demand, point-in-time recovery, KMS encryption (cdk-nag DDB3 does not look at TableV2)', () => {
    defaults.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
    });
  });

  test('retained and deletion-protected by default; a test stack may destroy it', () => {
    defaults.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })] }),
    });
    configured.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })] }),
    });
  });
});

describe('no hard-coded physical names', () => {
  const NAME_PROPERTIES = ['TableName', 'TopicName', 'QueueName', 'FunctionName', 'RoleName', 'LogGroupName', 'AlarmName', 'DashboardName', 'KeyAlias'];

  test.each([
    ['defaults', defaults],
    ['configured', configured],
  ])('%s: no resource sets a name of its own', (_name, template) => {
    for (const [id, resource] of Object.entries(template.toJSON().Resources as Record<string, Resource>)) {
      // A reference to another resource's name is fine; a literal string would be a physical name.
      const literal = (property: string): unknown => (typeof resource.Properties?.[property] === 'string' ? resource.Properties[property] : undefined);
      for (const property of NAME_PROPERTIES) expect([id, literal(property)]).toEqual([id, undefined]);
      // Secrets and schedules call it Name; the schedule group's name is generated from the stack's path.
      if (resource.Type !== 'AWS::Scheduler::ScheduleGroup') expect([id, literal('Name')]).toEqual([id, undefined]);
    }
  });

  test('the schedule group name is derived from the stack name, so two stacks do not collide', () => {
    const [, group] = only(configured, 'AWS::Scheduler::ScheduleGroup');
    expect(group.Properties?.Name).toEqual(expect.stringContaining('Configured'));
  });
});

describe('event topic', () => {
  test('standard topic, TLS only, with signature version 2', () => {
    defaults.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'Unread notifier', FifoTopic: Match.absent(), SignatureVersion: '2' });
  });

  test('every topic denies publishing without TLS', () => {
    for (const template of [defaults, configured]) {
      const topics = Object.keys(template.findResources('AWS::SNS::Topic'));
      expect(topics).toHaveLength(2); // events and alarms
      for (const topic of topics) {
        template.hasResourceProperties('AWS::SNS::TopicPolicy', {
          Topics: [{ Ref: topic }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    }
  });

  test('each topic, events and alarms, is encrypted with a rotating customer managed key of its own', () => {
    for (const template of [defaults, configured]) {
      const resources = template.toJSON().Resources as Record<string, Resource>;
      const keys = ['Unread notifier', 'Unread notifier alarms'].map((displayName) => topicKeyOf(template, displayName));
      expect(new Set(keys).size).toBe(2);
      for (const key of keys) {
        expect([key, resources[key]?.Type, resources[key]?.Properties?.EnableKeyRotation]).toEqual([key, 'AWS::KMS::Key', true]);
      }
    }
  });

  test('each topic key refuses grants except to AWS services acting for a resource (Control Tower CT.KMS.PR.3)', () => {
    for (const template of [defaults, configured]) {
      for (const displayName of ['Unread notifier', 'Unread notifier alarms']) {
        expect(keyStatements(template, topicKeyOf(template, displayName))).toContainEqual({
          Sid: 'DenyGrantsExceptForAwsResources',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'kms:CreateGrant',
          Resource: '*',
          Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
        });
      }
    }
  });
});

describe('poller function', () => {
  test('Node.js 24 on ARM64, the handler the bundle exports', () => {
    defaults.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: `index.${POLLER_HANDLER}`,
      MemorySize: 256,
    });
  });

  test('no X-Ray tracing: nothing in the code is instrumented, so active tracing would record only the invocation', () => {
    for (const template of [defaults, configured]) expect(functionOf(template)[1].Properties?.TracingConfig).toBeUndefined();
  });

  test('timeout below the schedule interval, and the claim lease above the timeout', () => {
    const env = envOf(defaults);
    const timeout = functionOf(defaults)[1].Properties?.Timeout as number;
    expect(timeout).toBe(50);
    expect(timeout).toBeLessThan(60);
    expect(Number(env[ENV.claimLeaseSeconds])).toBeGreaterThan(timeout);

    const configuredTimeout = functionOf(configured)[1].Properties?.Timeout as number;
    expect(configuredTimeout).toBe(290);
    expect(Number(envOf(configured)[ENV.claimLeaseSeconds])).toBeGreaterThan(configuredTimeout);
  });

  test('an explicit log group with retention, JSON logs', () => {
    const logGroup = new Capture();
    defaults.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logGroup } } });
    defaults.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { RetentionInDays: 30 } });
    expect(pollerLogGroupOf(defaults)).toBe(logGroup.asString());
    configured.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete', Properties: { RetentionInDays: 90 } });
  });

  test('environment: exactly the documented keys, references for the resources, the defaults of lambda/config.ts', () => {
    const env = envOf(defaults);
    expect(Object.keys(env).sort()).toEqual(
      [
        ENV.tableName,
        ENV.topicArn,
        ENV.apiTokenSecretId,
        ENV.apiBaseUrl,
        ENV.pollConcurrency,
        ENV.claimLeaseSeconds,
        ENV.failureStreakThreshold,
        ENV.serviceName,
        'POWERTOOLS_METRICS_NAMESPACE',
        'NODE_OPTIONS',
      ].sort(),
    );
    expect(env).toMatchObject({
      [ENV.tableName]: { Ref: registryTableOf(defaults) },
      [ENV.topicArn]: { Ref: only(defaults, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier' })[0] },
      [ENV.apiTokenSecretId]: { Ref: apiTokenSecretOf(defaults) },
      [ENV.apiBaseUrl]: 'https://api.commbox.io',
      [ENV.pollConcurrency]: '128',
      [ENV.failureStreakThreshold]: '5',
      [ENV.serviceName]: 'Defaults',
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('environment: no endpoint overrides, no SDK v2 switch, no token', () => {
    for (const template of [defaults, configured]) {
      const env = envOf(template);
      expect(Object.keys(env).filter((key) => key.startsWith('AWS_ENDPOINT_URL'))).toEqual([]);
      expect(env).not.toHaveProperty('AWS_NODEJS_CONNECTION_REUSE_ENABLED');
      expect(env).not.toHaveProperty(ENV.apiToken);
      expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|SecretString/);
    }
  });

  test('the runtime accepts the environment the stack gives it (lambda/config.ts loadConfig)', () => {
    const resources = defaults.toJSON().Resources as Record<string, Resource>;
    const sample = (value: unknown): string => {
      if (typeof value === 'string') return value;
      const type = resources[(value as { Ref: string }).Ref]?.Type;
      if (type === 'AWS::DynamoDB::GlobalTable') return SAMPLE_REFERENCE_VALUES.table;
      if (type === 'AWS::SNS::Topic') return SAMPLE_REFERENCE_VALUES.topicArn;
      if (type === 'AWS::SecretsManager::Secret') return SAMPLE_REFERENCE_VALUES.secretArn;
      throw new Error(`unexpected reference in the environment: ${JSON.stringify(value)}`);
    };
    const env = Object.fromEntries(Object.entries(envOf(defaults)).map(([key, value]) => [key, sample(value)]));
    const config = loadConfig(env);
    expect(config).toMatchObject({
      tableName: SAMPLE_REFERENCE_VALUES.table,
      topicArn: SAMPLE_REFERENCE_VALUES.topicArn,
      token: { kind: 'secret', secretId: SAMPLE_REFERENCE_VALUES.secretArn },
      pollConcurrency: 128,
      claimLeaseMs: 110_000,
      failureStreakThreshold: 5,
      serviceName: 'Defaults',
    });
    expect(config.apiBaseUrl.origin).toBe('https://api.commbox.io');
  });

  test('alertPolicy: one ALERT_* variable per field given, which the runtime reads back as the stack-wide defaults', () => {
    const env = envOf(configured);

    expect(env).toMatchObject({
      [ALERT_ENV.minUnread]: '2',
      [ALERT_ENV.cooldown]: '10m',
      [ALERT_ENV.quietHours]: '22:00-07:00',
      [ALERT_ENV.timeZone]: 'Europe/Berlin',
      [ALERT_ENV.remindAfter]: '1h',
      [ALERT_ENV.maxReminders]: '2',
      [ALERT_ENV.notifyCleared]: 'true',
    });
    expect(parseAlertDefaults(env as Record<string, string>)).toEqual({
      minUnread: 2,
      cooldown: 600_000,
      quietHours: { start: 1320, end: 420 },
      timeZone: 'Europe/Berlin',
      remindAfter: 3_600_000,
      maxReminders: 2,
      notifyCleared: true,
      snoozeUntil: null,
    });
    expect(Object.keys(envOf(defaults)).filter((key) => key.startsWith('ALERT_'))).toEqual([]);
  });

  test('configured: props reach the environment; an imported secret is named, not ARN-guessed', () => {
    expect(envOf(configured)).toMatchObject({
      [ENV.apiBaseUrl]: 'https://eu.commbox.io',
      [ENV.pollConcurrency]: '8',
      [ENV.failureStreakThreshold]: '3',
      [ENV.claimLeaseSeconds]: '350',
      [ENV.apiTokenSecretId]: 'commbox/api-token',
    });
    configured.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024, Handler: 'index.handler' });
  });

  test('async invocation: no retries, events no older than the interval, failures to an SQS destination', () => {
    const destination = new Capture();
    defaults.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionOf(defaults)[0] },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [destination, 'Arn'] } } },
    });
    expect(defaults.toJSON().Resources[destination.asString()].Type).toBe('AWS::SQS::Queue');
    configured.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 });
  });
});

describe('IAM: least privilege', () => {
  function statementsOf(template: Template, roleLogicalId: string): Record<string, unknown>[] {
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleLogicalId }] } }),
    ) as Resource[];
    expect(policies).toHaveLength(1);
    return (policies[0]!.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
  }
  const actionsOf = (statement: Record<string, unknown>): string[] => [statement.Action as string | string[]].flat().sort();
  const poller = (template: Template): { role: string; statements: Record<string, unknown>[] } => {
    const role = (functionOf(template)[1].Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return { role, statements: statementsOf(template, role) };
  };

  test('the function role has no managed policy and only the actions one cycle needs', () => {
    const { role, statements } = poller(defaults);
    expect(defaults.toJSON().Resources[role].Properties.ManagedPolicyArns).toBeUndefined();
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'sns:Publish',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  test('scan and conditional update on this table; item reads and writes only on the resume-point keys, reads only on the runs and cycle-end keys', () => {
    const table = registryTableOf(defaults);
    const { statements } = poller(defaults);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:Scan', 'dynamodb:UpdateItem'],
      Resource: { 'Fn::GetAtt': [table, 'Arn'] },
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      Resource: { 'Fn::GetAtt': [table, 'Arn'] },
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${RESUME_KEY_PREFIX}*`] } },
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
      Resource: { 'Fn::GetAtt': [table, 'Arn'] },
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TABLE_KEY.runsKey, `${CYCLE_KEY_PREFIX}*`] } },
    });
    expect(CYCLE_KEY_PREFIX).toBe(TABLE_KEY.cycleKeyPrefix);
  });

  test('publish to this topic (with its key), read this secret, write this log group', () => {
    const { statements } = poller(defaults);
    const topic = only(defaults, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier' })[0];
    const key = (defaults.toJSON().Resources[topic].Properties.KmsMasterKeyId as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: topic } });
    expect(statements).toContainEqual({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: { 'Fn::GetAtt': [key, 'Arn'] } });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Resource: { Ref: apiTokenSecretOf(defaults) },
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [pollerLogGroupOf(defaults), 'Arn'] },
    });
  });

  test('no "*" resource and no X-Ray action in the function role', () => {
    for (const template of [defaults, configured]) {
      const { statements } = poller(template);
      expect(statements.filter((s) => [s.Resource].flat().includes('*'))).toEqual([]);
      expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('xray:'))).toEqual([]);
      for (const s of statements) expect(actionsOf(s).filter((a) => a.endsWith(':*') || a === '*')).toEqual([]);
    }
  });

  test('an imported secret with a customer managed key: kms:Decrypt on that key, through Secrets Manager in this region only', () => {
    expect(poller(configured).statements).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: CONFIGURED_PROPS.apiTokenSecretKmsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
    });
    // Without the context key, the only key the function may use is the event topic's.
    const topicKey = topicKeyOf(defaults, 'Unread notifier');
    expect(poller(defaults).statements.filter((s) => actionsOf(s).includes('kms:Decrypt')).map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [topicKey, 'Arn'] }]);
  });

  test('an imported secret is granted by name, with the random suffix Secrets Manager adds', () => {
    expect(poller(configured).statements).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:commbox/api-token-??????']],
      },
    });
  });

  test('the scheduler role invokes this function only, sends to its DLQ, and trusts Scheduler for this account and group', () => {
    const [fn] = functionOf(defaults);
    const [role] = only(defaults, 'AWS::IAM::Role', { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })] }) });
    const statements = statementsOf(defaults, role);
    expect(statements.flatMap(actionsOf).sort()).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'lambda:InvokeFunction',
      Resource: [{ 'Fn::GetAtt': [fn, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [fn, 'Arn'] }, ':*']] }],
    });
    defaults.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: {
              StringEquals: {
                'aws:SourceAccount': { Ref: 'AWS::AccountId' },
                'aws:SourceArn': { 'Fn::GetAtt': [logicalId(defaults, 'AWS::Scheduler::ScheduleGroup'), 'Arn'] },
              },
            },
          },
        ],
      },
    });
  });
});

describe('API token secret', () => {
  test('created empty (no generated value, no value in the template) and retained', () => {
    defaults.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ GenerateSecretString: Match.absent(), SecretString: Match.absent() }),
    });
  });

  test('imported by name: the stack creates no secret', () => {
    const secrets = Object.values(configured.findResources('AWS::SecretsManager::Secret')) as Resource[];
    expect(secrets.map((secret) => secret.Properties?.Description)).toEqual([expect.stringMatching(/re-poll endpoint/)]);
  });
});

describe('schedule (no cdk-nag rule covers EventBridge Scheduler: asserted here)', () => {
  test('one schedule, every minute, payload {segment: 0, totalSegments: 1}, retry policy and DLQ', () => {
    const dlq = new Capture();
    defaults.resourceCountIs('AWS::Scheduler::Schedule', 1);
    defaults.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      GroupName: only(defaults, 'AWS::Scheduler::ScheduleGroup')[1].Properties?.Name,
      Target: {
        Arn: { 'Fn::GetAtt': [functionOf(defaults)[0], 'Arn'] },
        Input: JSON.stringify({ segment: 0, totalSegments: 1 }),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
        RoleArn: Match.anyValue(),
      },
    });
    expect(defaults.toJSON().Resources[dlq.asString()].Type).toBe('AWS::SQS::Queue');
  });

  test('shards: one schedule per parallel-scan segment, each with its own payload, the rate, retry policy and DLQ', () => {
    const inputs = new Capture();
    configured.resourceCountIs('AWS::Scheduler::Schedule', 3);
    configured.allResourcesProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({
        Input: inputs,
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
    const payloads: unknown[] = [];
    do payloads.push(JSON.parse(inputs.asString()));
    while (inputs.next());
    expect(payloads).toEqual([0, 1, 2].map((segment) => ({ segment, totalSegments: 3 })));
  });

  test('every schedule waits for its role policy: the first tick may invoke and may send to the DLQ', () => {
    for (const template of [defaults, configured]) {
      const resources = template.toJSON().Resources as Record<string, Resource & { DependsOn?: string[] }>;
      const [role] = only(template, 'AWS::IAM::Role', { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })] }) });
      const policies = Object.keys(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }));
      expect(policies).toHaveLength(1);
      const schedules = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Scheduler::Schedule');
      expect(schedules.length).toBeGreaterThan(0);
      for (const [id, schedule] of schedules) expect([id, schedule.DependsOn ?? []]).toEqual([id, expect.arrayContaining([policies[0]])]);
    }
  });

  test('the schedule group goes with the stack', () => {
    defaults.hasResource('AWS::Scheduler::ScheduleGroup', { DeletionPolicy: 'Delete' });
  });
});

describe('queues', () => {
  test.each([
    ['defaults', defaults, 8],
    ['configured', configured, 12],
  ])('%s: every queue is encrypted and refuses plain HTTP', (_name, template, count) => {
    const queues = Object.entries(template.findResources('AWS::SQS::Queue')) as [string, Resource][];
    expect(queues).toHaveLength(count);
    for (const [id, queue] of queues) {
      expect([id, queue.Properties?.SqsManagedSseEnabled]).toEqual([id, true]);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    }
  });

  const integratorQueues = (template: Template): { queue: Resource; dlq: Resource; dlqId: string } => {
    const [, queue] = only(template, 'AWS::SQS::Queue', { RedrivePolicy: Match.anyValue(), MessageRetentionPeriod: INTEGRATOR_QUEUE_RETENTION.toSeconds() });
    const dlqId = (queue.Properties?.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] } }).deadLetterTargetArn['Fn::GetAtt'][0];
    return { queue, dlq: (template.toJSON().Resources as Record<string, Resource>)[dlqId]!, dlqId };
  };

  test('the integrator queue has a DLQ of its own, after five receives', () => {
    const { queue, dlqId } = integratorQueues(configured);
    expect(queue.Properties?.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 });
    // Its own: no SNS subscription sends its failures there.
    const subscriptionTargets = (Object.values(configured.findResources('AWS::SNS::Subscription')) as Resource[]).map((r) => JSON.stringify(r.Properties?.RedrivePolicy));
    expect(subscriptionTargets.filter((target) => target.includes(`"${dlqId}"`))).toEqual([]);
  });

  test('the integrator queue keeps a message a week less than its DLQ: a dead letter keeps its first enqueue time', () => {
    const { queue, dlq } = integratorQueues(configured);
    const main = queue.Properties?.MessageRetentionPeriod as number;
    const dead = dlq.Properties?.MessageRetentionPeriod as number;
    expect(main).toBe(INTEGRATOR_QUEUE_RETENTION.toSeconds());
    expect(dead - main).toBeGreaterThanOrEqual(Duration.days(7).toSeconds());
  });

  test.each([
    ['defaults', defaults, 5],
    ['configured', configured, 8],
  ])('%s: every dead-letter queue says so in its redrive allow policy (Control Tower CT.SQS.PR.1)', (_name, template, count) => {
    const dlqs = Object.entries(template.findResources('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.absent() } })) as [string, Resource][];
    expect(dlqs).toHaveLength(count);
    for (const [id, dlq] of dlqs) expect([id, dlq.Properties?.RedriveAllowPolicy]).toEqual([id, { redrivePermission: 'allowAll' }]);
  });
});

describe('subscriptions', () => {
  const eventsTopic = (template: Template): string => only(template, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier' })[0];
  const deliveryDlq = (): { 'Fn::GetAtt': [string, string] } => {
    const redrive = new Capture();
    configured.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'team@example.com', RedrivePolicy: redrive });
    return (redrive.asObject() as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] } }).deadLetterTargetArn;
  };

  test("none by default but the webhook dispatcher's event queue", () => {
    defaults.resourceCountIs('AWS::SNS::Subscription', 1);
    defaults.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs', RawMessageDelivery: true });
  });

  test('email: alerts by default; both kinds with a direction for change events only ($or), by identity', () => {
    const topic = { Ref: eventsTopic(configured) };
    configured.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: topic, Protocol: 'email', Endpoint: 'team@example.com', FilterPolicy: { eventType: ['unread.alert'] } });
    configured.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: topic,
      Protocol: 'email',
      Endpoint: 'sales@example.com',
      // Increases of changes, or any alert (alerts have no direction): identity 558355 either way.
      FilterPolicy: {
        identityId: ['558355'],
        $or: [{ eventType: ['unread.changed'], direction: ['increased'] }, { eventType: ['unread.alert'] }],
      },
      FilterPolicyScope: Match.absent(), // absent means MessageAttributes
    });
  });

  test('sms: alerts by default', () => {
    configured.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sms',
      Endpoint: '+14155550100',
      FilterPolicy: { eventType: ['unread.alert'] },
      RedrivePolicy: { deadLetterTargetArn: deliveryDlq() },
    });
  });

  test('https: delivery policy, redrive policy, identity filter kept as a string (int64)', () => {
    configured.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://hooks.example.com/unread',
      FilterPolicy: { identityId: ['9223372036854775807'], eventType: ['unread.changed'] },
      RawMessageDelivery: Match.absent(),
      DeliveryPolicy: {
        healthyRetryPolicy: Match.objectLike({ numRetries: 20, minDelayTarget: 1, maxDelayTarget: 60, backoffFunction: 'EXPONENTIAL' }),
        throttlePolicy: { maxReceivesPerSecond: 10 },
        requestPolicy: { headerContentType: 'application/json' },
      },
      RedrivePolicy: { deadLetterTargetArn: deliveryDlq() },
    });
  });

  test('integrator queue: raw delivery, change events by default, filtered by direction', () => {
    configured.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs', RawMessageDelivery: true, FilterPolicy: { eventType: ['unread.changed'], direction: ['decreased'] } });
  });

  test('every subscription, events and alarms, has a redrive policy to a DLQ', () => {
    const subscriptions = Object.values(configured.findResources('AWS::SNS::Subscription')) as Resource[];
    expect(subscriptions).toHaveLength(7);
    for (const subscription of subscriptions) {
      expect(subscription.Properties?.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
    }
    configured.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: only(configured, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier alarms' })[0] } });
  });

  test('the delivery DLQ lets only the events topic send to it', () => {
    const [, policy] = only(configured, 'AWS::SQS::QueuePolicy', { Queues: [{ Ref: deliveryDlq()['Fn::GetAtt'][0] }] });
    const allows = (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      expect.objectContaining({
        Action: 'sqs:SendMessage',
        Principal: { Service: 'sns.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: eventsTopic(configured) } } },
      }),
    ]);
  });
});

type Alarm = {
  Namespace?: string;
  MetricName?: string;
  Statistic?: string;
  Threshold: number;
  ComparisonOperator: string;
  Dimensions?: unknown;
  AlarmActions?: unknown;
  AlarmDescription?: string;
  Period?: number;
  EvaluationPeriods?: number;
  TreatMissingData?: string;
};
const alarms = (template: Template): Alarm[] => (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[]).map((r) => r.Properties as Alarm);

describe('alarms', () => {
  /** The operations alarms (the re-poll endpoint's own: test/infra/repoll-endpoint.test.ts). */
  const summary = (template: Template): string[] =>
    (Object.entries(template.findResources('AWS::CloudWatch::Alarm')) as [string, Resource][])
      .filter(([id]) => !id.startsWith('Repoll'))
      .map(([, r]) => r.Properties as Alarm)
      .map((a) => `${a.Namespace}/${a.MetricName} ${a.Statistic} ${a.ComparisonOperator} ${a.Threshold}`)
      .sort();

  test('errors, throttles, duration near the timeout, not polling, DLQ messages, upstream 401s, unreadable token, undecodable items, failing identities; webhook dispatcher errors, disabled endpoints, delivery failures', () => {
    expect(summary(defaults)).toEqual(
      [
        'AWS/Lambda/Errors Sum GreaterThanOrEqualToThreshold 1',
        'AWS/Lambda/Errors Sum GreaterThanOrEqualToThreshold 1',
        'AWS/SQS/ApproximateNumberOfMessagesVisible Maximum GreaterThanOrEqualToThreshold 1',
        'AWS/SQS/ApproximateNumberOfMessagesVisible Maximum GreaterThanOrEqualToThreshold 1',
        `${METRICS.namespace}/WebhookEndpointDisabled Sum GreaterThanOrEqualToThreshold 1`,
        `${METRICS.namespace}/WebhookAttemptFailed Sum GreaterThanOrEqualToThreshold 10`,
        'AWS/Lambda/Throttles Sum GreaterThanOrEqualToThreshold 1',
        'AWS/Lambda/Duration Maximum GreaterThanOrEqualToThreshold 40000',
        'AWS/Lambda/Invocations Sum LessThanThreshold 1',
        'AWS/SQS/ApproximateNumberOfMessagesVisible Maximum GreaterThanOrEqualToThreshold 1',
        'AWS/SQS/ApproximateNumberOfMessagesVisible Maximum GreaterThanOrEqualToThreshold 1',
        'AWS/SQS/ApproximateNumberOfMessagesVisible Maximum GreaterThanOrEqualToThreshold 1',
        `${METRICS.namespace}/${METRICS.unauthorized} Sum GreaterThanOrEqualToThreshold 1`,
        `${METRICS.namespace}/${METRICS.tokenUnavailable} Sum GreaterThanOrEqualToThreshold 1`,
        `${METRICS.namespace}/${METRICS.malformedItems} Maximum GreaterThanThreshold 0`,
        `${METRICS.namespace}/${METRICS.failingIdentities} Maximum GreaterThanOrEqualToThreshold 1`,
      ].sort(),
    );
  });

  test.each([METRICS.unauthorized, METRICS.tokenUnavailable, METRICS.malformedItems, METRICS.failingIdentities])(
    'the %s alarm reads the handler namespace under this stack\'s service, and quiet periods are not failures',
    (metricName) => {
      defaults.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS.namespace,
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: defaultsStack.stackName }],
        TreatMissingData: 'notBreaching',
      });
    },
  );

  test('an unreadable token and undecodable items say what to do', () => {
    const description = (metricName: string): string | undefined => alarms(defaults).find((a) => a.MetricName === metricName)?.AlarmDescription;
    expect(description(METRICS.tokenUnavailable)).toMatch(/could not read the CommBox token.*put-secret-value/);
    expect(description(METRICS.malformedItems)).toMatch(/cannot decode/);
  });

  test('with subscribers, failed deliveries of the event topic alarm (SMS among them: SNS has no per-protocol dimension)', () => {
    const topic = only(configured, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier' })[0];
    configured.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SNS',
      MetricName: 'NumberOfNotificationsFailed',
      Dimensions: [{ Name: 'TopicName', Value: { 'Fn::GetAtt': [topic, 'TopicName'] } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmDescription: Match.stringLikeRegexp('spend limit.*SMS sandbox.*origination identity'),
    });
    expect(alarms(defaults).filter((a) => a.MetricName === 'NumberOfNotificationsFailed')).toEqual([]);
  });

  test('NotPolling watches two intervals of the schedule (at least five minutes each)', () => {
    const notPolling = (template: Template): Alarm | undefined => alarms(template).find((a) => a.MetricName === 'Invocations');
    expect(notPolling(defaults)).toMatchObject({ Period: 300, EvaluationPeriods: 2, TreatMissingData: 'breaching' });
    expect(notPolling(configured)).toMatchObject({ Period: 300, EvaluationPeriods: 2 });
  });

  test('one alarm per dead-letter queue, on that queue', () => {
    for (const [template, count] of [[defaults, 5], [configured, 8]] as const) {
      const dlqs = Object.keys(template.findResources('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.absent() } })).sort();
      const watched = alarms(template)
        .filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')
        .map((a) => ((a.Dimensions as { Name: string; Value: { 'Fn::GetAtt': [string, string] } }[])[0]?.Value['Fn::GetAtt'][0]))
        .sort();
      expect(dlqs).toHaveLength(count);
      expect(watched).toEqual(dlqs);
    }
  });

  test('every alarm notifies the alarm topic', () => {
    for (const template of [defaults, configured]) {
      const topic = only(template, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier alarms' })[0];
      for (const alarm of alarms(template)) expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
    }
  });

  test("CloudWatch may use the alarm topic's key, for this account's alarms only", () => {
    const statements = keyStatements(defaults, topicKeyOf(defaults, 'Unread notifier alarms'));
    expect(statements.filter((s) => JSON.stringify(s.Principal).includes('cloudwatch.amazonaws.com'))).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    // The event topic's key lets no service in.
    const eventKey = keyStatements(defaults, topicKeyOf(defaults, 'Unread notifier'));
    expect(eventKey.filter((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('Service'))).toEqual([]);
  });

  test("CloudWatch may publish to the alarm topic, for this account's alarms only", () => {
    const alarmTopic = only(defaults, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier alarms' })[0];
    const [, policy] = only(defaults, 'AWS::SNS::TopicPolicy', { Topics: [{ Ref: alarmTopic }] });
    const allows = (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
      }),
    ]);
  });
});

describe('dashboard', () => {
  test('graphs polled, changed, published, failed, throttled, unreadable token, undecodable items and cycle duration from the handler namespace', () => {
    const body = JSON.stringify(only(defaults, 'AWS::CloudWatch::Dashboard')[1].Properties?.DashboardBody);
    const graphed = [METRICS.polled, METRICS.changed, METRICS.published, METRICS.failed, METRICS.throttled, METRICS.tokenUnavailable, METRICS.malformedItems, METRICS.cycleDuration];
    for (const name of graphed) {
      expect(body).toContain(`\\"${METRICS.namespace}\\",\\"${name}\\",\\"service\\",\\"${defaultsStack.stackName}\\"`);
    }
  });
});

describe('dashboard: alerts', () => {
  test('graphs the alerts sent, deferred and dropped', () => {
    const body = JSON.stringify(only(defaults, 'AWS::CloudWatch::Dashboard')[1].Properties?.DashboardBody);
    for (const name of [METRICS.alertsSent, METRICS.alertsDeferred, METRICS.alertsDropped]) {
      expect(body).toContain(`\\"${METRICS.namespace}\\",\\"${name}\\",\\"service\\",\\"${defaultsStack.stackName}\\"`);
    }
    expect(body).toContain('Alerts for people: sent, deferred, dropped');
  });
});

describe('two copies of the stack in one account', () => {
  /** Every `service` dimension value the alarms and the dashboard of a template read. */
  const servicesRead = (template: Template): string[] => {
    const alarmServices = (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[]).flatMap((alarm) =>
      ((alarm.Properties?.Dimensions ?? []) as { Name: string; Value: string }[]).filter((d) => d.Name === 'service').map((d) => d.Value),
    );
    const body = JSON.stringify(only(template, 'AWS::CloudWatch::Dashboard')[1].Properties?.DashboardBody);
    const dashboardServices = [...body.matchAll(/\\"service\\",\\"([^\\]+)\\"/g)].map((m) => m[1]!);
    expect(alarmServices.length).toBeGreaterThan(0);
    expect(dashboardServices.length).toBeGreaterThan(0);
    return [...new Set([...alarmServices, ...dashboardServices])];
  };

  test.each([
    ['Defaults', defaults],
    ['Configured', configured],
  ])('%s: the function is told its stack name as the metrics service, and its alarms and dashboard read only that', (stackName, template) => {
    expect(envOf(template)[ENV.serviceName]).toBe(stackName);
    expect(servicesRead(template)).toEqual([stackName]);
  });

  test('neither copy reads the figures of the other', () => {
    expect(servicesRead(defaults)).not.toContain(configuredStack.stackName);
    expect(servicesRead(configured)).not.toContain(defaultsStack.stackName);
    expect(defaultsStack.poller.metrics.service).not.toBe(configuredStack.poller.metrics.service);
  });

  test('every alarm on a cycle or webhook metric carries the service dimension (no alarm adds up both copies)', () => {
    for (const template of [defaults, configured]) {
      const cycleAlarms = alarms(template).filter((a) => a.Namespace === METRICS.namespace);
      expect(cycleAlarms).toHaveLength(6);
      for (const alarm of cycleAlarms) expect(alarm.Dimensions).toEqual([{ Name: 'service', Value: expect.any(String) }]);
    }
  });
});

describe('outputs', () => {
  test('table name, topic ARN, secret ARN, function name', () => {
    defaults.hasOutput('TableName', { Value: { Ref: registryTableOf(defaults) } });
    defaults.hasOutput('TopicArn', { Value: { Ref: only(defaults, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier' })[0] } });
    defaults.hasOutput('ApiTokenSecretArn', { Value: { Ref: apiTokenSecretOf(defaults) } });
    defaults.hasOutput('FunctionName', { Value: { Ref: functionOf(defaults)[0] } });
    defaults.hasOutput('LogGroupName', { Value: { Ref: pollerLogGroupOf(defaults) } });
    defaults.hasOutput('AlarmTopicArn', { Value: { Ref: only(defaults, 'AWS::SNS::Topic', { DisplayName: 'Unread notifier alarms' })[0] } });
    expect(Object.keys(defaults.findOutputs('IntegratorQueueUrl'))).toEqual([]);
    const queue = logicalIdOf(configured, 'AWS::SQS::Queue', { RedrivePolicy: Match.anyValue(), MessageRetentionPeriod: INTEGRATOR_QUEUE_RETENTION.toSeconds() });
    configured.hasOutput('IntegratorQueueUrl', { Value: { Ref: queue } });
    configured.hasOutput('IntegratorQueueArn', { Value: { 'Fn::GetAtt': [queue, 'Arn'] } });
  });
});
