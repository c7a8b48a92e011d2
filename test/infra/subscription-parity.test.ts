import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { Template } from 'aws-cdk-lib/assertions';
import { buildFilterPolicy } from '../../lambda/core/subscription-filter';
import { DEFAULT_EVENT_TYPES, HTTPS_DELIVERY_POLICY } from '../../lambda/core/subscriptions';
import { UnreadNotifierStack } from '../../lib/unread-notifier-stack';
import { CONFIGURED_PROPS, testApp } from './fixtures';

// The stack's subscriptions and `unread-notifier subscriptions add` subscribe alike: the same
// filter policy for the same filter, the same retries for HTTPS receivers.
const template = Template.fromStack(new UnreadNotifierStack(testApp({ cloudFormationValidation: false }), 'Parity', CONFIGURED_PROPS));
const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription')) as { Properties: Record<string, unknown> }[];
const byEndpoint = (endpoint: string) => subscriptions.find((s) => s.Properties.Endpoint === endpoint)?.Properties;

describe('stack subscriptions and the CLI', () => {
  const specs = [
    ...(CONFIGURED_PROPS.alertEmails ?? []).map((spec) => ({ ...spec, protocol: 'email' as const })),
    ...(CONFIGURED_PROPS.smsNumbers ?? []).map((spec) => ({ ...spec, protocol: 'sms' as const })),
    ...(CONFIGURED_PROPS.webhookUrls ?? []).map((spec) => ({ ...spec, protocol: 'https' as const })),
  ];
  test.each(specs)(
    '$endpoint has the filter policy the shared builder makes, with the events the CLI gives $protocol by default',
    (spec) => {
      const expected = buildFilterPolicy({
        eventTypes: spec.events ?? DEFAULT_EVENT_TYPES[spec.protocol],
        ...(spec.identityId ? { identityIds: [spec.identityId] } : {}),
        ...(spec.directions ? { directions: spec.directions } : {}),
      });

      expect(byEndpoint(spec.endpoint)?.FilterPolicy).toEqual(expected);
    },
  );

  test('an HTTPS subscriber gets the delivery policy the CLI sets', () => {
    const endpoint = CONFIGURED_PROPS.webhookUrls![0]!.endpoint;

    expect(byEndpoint(endpoint)?.DeliveryPolicy).toEqual(HTTPS_DELIVERY_POLICY);
  });
});
