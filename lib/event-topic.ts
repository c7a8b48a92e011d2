import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { TopicKey } from './topic-key';

export interface EventTopicProps {
  /**
   * The name email and SMS recipients see as the sender.
   * @default 'Unread notifier'
   */
  readonly displayName?: string;
}

/**
 * The `unread.changed` topic: standard (email, SMS and HTTPS cannot subscribe to FIFO), encrypted
 * with a customer managed key of its own, reachable over TLS only. Publishers get the key through
 * `topic.grantPublish`, so nothing else can read what is published.
 */
export class EventTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: TopicKey;

  constructor(scope: Construct, id: string, props: EventTopicProps = {}) {
    super(scope, id);
    this.key = new TopicKey(this, 'Key', { description: 'Encrypts the unread-notifier event topic' });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName ?? 'Unread notifier',
      masterKey: this.key,
      enforceSSL: true,
      // SHA256 signatures for HTTPS subscribers that verify the SNS envelope.
      signatureVersion: '2',
    });
  }
}
