import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

export interface TopicKeyProps {
  /** What the key encrypts, shown in the KMS console. */
  readonly description: string;
}

/**
 * A customer managed key of one SNS topic: rotating, removed with the stack (it only encrypts
 * messages in flight, so nothing is lost with it), and refusing grants to anyone but an AWS
 * service acting for a resource (AWS Control Tower CT.KMS.PR.3): whoever may use the key can
 * use it, but cannot hand that use on through a grant.
 */
export class TopicKey extends kms.Key {
  constructor(scope: Construct, id: string, props: TopicKeyProps) {
    super(scope, id, {
      description: props.description,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyGrantsExceptForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        // The exact shape CT.KMS.PR.3 checks for: BoolIfExists, both keys "false".
        conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }),
    );
  }
}
