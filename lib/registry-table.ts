import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_KEY } from '../lambda/env-names';

export interface RegistryTableProps {
  /**
   * What CloudFormation does with the table when it leaves the stack. Anything but RETAIN is for
   * throw-away test stacks: the table holds the registrations and the unpublished events.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The registry of watched identities and their snapshots and outbox: one item per identity,
 * keyed by `identityId` (the key schema `unread-notifier init` creates locally, from the same constant).
 */
export class RegistryTable extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: RegistryTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      // Traffic is a scan per tick and a write per change: far too spiky and small for provisioned capacity.
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // An AWS managed key: encrypted with KMS and visible in CloudTrail, with no key of ours to keep alive after a teardown that retains the table.
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy,
      // A retained table is a table worth protecting from a console slip as well.
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    });
  }
}
