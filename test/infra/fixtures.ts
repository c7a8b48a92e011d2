import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { UnreadNotifierStackProps } from '../../lib/unread-notifier-stack';

/** The context of cdk.json (the feature flags): the tests synthesize what `cdk deploy` deploys. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface TestAppOptions {
  /** Run esbuild (the one bundling test); otherwise bundling is skipped. @default false */
  readonly bundling?: boolean;
  /**
   * Run CDK's built-in CloudFormation validation (with cdk.json's validateAgainstDefaultRules,
   * findings are errors). It costs seconds of WASM per process, so only the template tests,
   * which synthesize every variant, keep it on. @default true
   */
  readonly cloudFormationValidation?: boolean;
}

/** An app with the project's feature flags. */
export function testApp(options: TestAppOptions = {}): App {
  return new App({
    builtinCloudFormationValidation: options.cloudFormationValidation ?? true,
    context: { ...cdkJsonContext(), ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
}

/** Everything switched on, every default overridden: the other end from the defaults stack. */
export const CONFIGURED_PROPS: UnreadNotifierStackProps = {
  removalPolicy: RemovalPolicy.DESTROY,
  scheduleRate: Duration.minutes(5),
  shards: 3,
  apiBaseUrl: 'https://eu.commbox.io',
  pollConcurrency: 8,
  failureStreakThreshold: 3,
  memorySize: 1024,
  apiTokenSecretName: 'commbox/api-token',
  apiTokenSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  alertEmails: [
    { endpoint: 'team@example.com' },
    { endpoint: 'sales@example.com', identityId: '558355', events: ['unread.alert', 'unread.changed'], directions: ['increased'] },
  ],
  smsNumbers: [{ endpoint: '+14155550100' }],
  webhookUrls: [{ endpoint: 'https://hooks.example.com/unread', identityId: '9223372036854775807' }],
  integratorQueue: { directions: ['decreased'] },
  opsEmails: ['oncall@example.com'],
  alertPolicy: { minUnread: 2, cooldown: '10m', quietHours: '22:00-07:00', timeZone: 'Europe/Berlin', remindAfter: '1h', maxReminders: 2, notifyCleared: true },
  logRetention: logs.RetentionDays.THREE_MONTHS,
};

/** Values standing in for CloudFormation references when the runtime parses the function's environment. */
export const SAMPLE_REFERENCE_VALUES = {
  table: 'UnreadNotifier-RegistryTable-1ABCDEF',
  topicArn: 'arn:aws:sns:eu-west-1:123456789012:UnreadNotifier-EventsTopic-1ABCDEF',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ApiTokenSecret-AbCdEf',
} as const;
