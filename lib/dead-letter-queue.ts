import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /** What lands in this queue, e.g. "failed async invocations of the poller"; kept in the nag acknowledgements. */
  readonly purpose: string;
  /**
   * How long a dead letter is kept.
   * @default Duration.days(14), the SQS maximum: time to notice the alarm, read and redrive
   */
  readonly retentionPeriod?: Duration;
}

/**
 * A queue that is itself the dead-letter queue of something else (a Lambda on-failure
 * destination, a Scheduler target, an SNS subscription): SQS-managed encryption, TLS only,
 * kept as long as SQS allows, marked as a DLQ by its redrive allow policy. It has no DLQ of its
 * own, and says why.
 */
export class DeadLetterQueue extends sqs.Queue {
  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id, {
      // SSE-SQS rather than a customer key: SNS, Scheduler and Lambda can all write to it with no key policy to keep in sync.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
      // Says "this is a dead-letter queue" (AWS Control Tower CT.SQS.PR.1). allowAll is what SQS does
      // without the property; byQueue would have to name the source queue, which refers back to this one.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
      // Dead letters are a diagnosis aid, not records: they go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const reason = `This queue is the dead-letter queue for ${props.purpose}; nothing consumes it automatically, an alarm fires on its first message, so a DLQ behind it would add nothing.`;
    Validations.of(this).acknowledge({ id: 'AwsSolutions-SQS3', reason }, { id: 'Serverless-SQSRedrivePolicy', reason });
  }
}
