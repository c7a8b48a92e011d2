import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { UnreadNotifierStack } from '../../lib/unread-notifier-stack';
import { CONFIGURED_PROPS, testApp } from './fixtures';

// cdk-nag v3 reads the finished construct tree: synthesize first (aspects and lazy values
// settle), then validate each stack directly.
// The template tests already run CloudFormation validation on the same stacks.
const app = testApp({ cloudFormationValidation: false });
const stacks = [new UnreadNotifierStack(app, 'Defaults'), new UnreadNotifierStack(app, 'Configured', CONFIGURED_PROPS)];
for (const stack of stacks) Template.fromStack(stack);

/** Every acknowledgement in a tree: where, which rule, why. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe.each(stacks.map((stack) => [stack.stackName, stack] as const))('%s stack', (_name, stack) => {
  test('AWS Solutions: no unacknowledged finding', () => {
    expect(new AwsSolutionsChecks(app).validateScope(stack).violations).toEqual([]);
  });

  test('Serverless: no unacknowledged finding', () => {
    expect(new ServerlessChecks(app).validateScope(stack).violations).toEqual([]);
  });
});

describe('acknowledgements', () => {
  const all = stacks.flatMap((stack) => acknowledgements(stack));

  test('every acknowledgement carries a reason that explains it', () => {
    expect(all.length).toBeGreaterThan(0);
    for (const { path, id, reason } of all) expect([path, id, reason.length >= 60]).toEqual([path, id, true]);
  });

  test('the acknowledged cdk-nag findings are exactly these (a new one must be added here on purpose)', () => {
    const defaults = acknowledgements(stacks[0]!)
      .filter(({ id }) => /^(AwsSolutions|Serverless)-/.test(id))
      .map(({ path, id }) => `${path.replace(/^Defaults\//, '')}: ${id}`);
    expect(defaults.sort()).toEqual(
      [
        'ApiToken/Secret: AwsSolutions-SMG4',
        'Poller/FailureQueue: AwsSolutions-SQS3',
        'Poller/FailureQueue: Serverless-SQSRedrivePolicy',
        'Poller/Function: Serverless-LambdaDLQ',
        'Poller/Function: Serverless-LambdaTracing',
        'Poller/FunctionRole: AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'Schedule/Dlq: AwsSolutions-SQS3',
        'Schedule/Dlq: Serverless-SQSRedrivePolicy',
        'Schedule/InvokeRole: AwsSolutions-IAM5[Resource::<PollerFunctionD1C91003.Arn>:*]',
        'Webhooks/DeadLetters: AwsSolutions-SQS3',
        'Webhooks/DeadLetters: Serverless-SQSRedrivePolicy',
        'Webhooks/EventDlq: AwsSolutions-SQS3',
        'Webhooks/EventDlq: Serverless-SQSRedrivePolicy',
        'Webhooks/Function/SqsEventSource:DefaultsWebhooksDeliveryQueueEAB16E73: Serverless-LambdaEventSourceMappingDestination',
        'Webhooks/Function/SqsEventSource:DefaultsWebhooksEventQueue07D589FE: Serverless-LambdaEventSourceMappingDestination',
        'Webhooks/Function: Serverless-LambdaDLQ',
        'Webhooks/Function: Serverless-LambdaTracing',
        'Webhooks/FunctionRole: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:<WebhooksTable55C3C645>/wh_*]',
      ].sort(),
    );
  });
});
