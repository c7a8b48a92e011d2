import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkContextKeys, CONTEXT_KEYS, ContextError, readAppConfig, type ContextKey } from '../../lib/app-config';
import { UnreadNotifierStack, type UnreadNotifierStackProps } from '../../lib/unread-notifier-stack';
import { cdkJsonContext } from './fixtures';

// Construction only, no synth: these checks run while the stack is built, before anything is written.

const read = (context: Partial<Record<ContextKey, unknown>>) => readAppConfig((key) => context[key]);

describe('context (bin/app.ts)', () => {
  test('no context: the defaults stack', () => {
    const { stackName, props } = read({});
    expect(stackName).toBe('UnreadNotifier');
    expect(Object.values(props).filter((value) => value !== undefined)).toEqual([]);
  });

  test('cdk.json holds feature flags and CLI settings only, none of the deploy-time keys', () => {
    const keys = Object.keys(cdkJsonContext());
    expect(keys.filter((key) => !key.startsWith('@aws-cdk'))).toEqual(['cli-telemetry']);
    expect(() => checkContextKeys(keys)).not.toThrow();
    expect(readAppConfig((key) => cdkJsonContext()[key]).stackName).toBe('UnreadNotifier');
  });

  test('synth calls out for neither notices nor CLI telemetry (cdk.json), so offline it tries nothing', () => {
    const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { notices?: unknown; context: Record<string, unknown> };

    expect(cdkJson.notices).toBe(false);
    expect(cdkJson.context['cli-telemetry']).toBe(false);
  });

  test('numbers and policies from -c strings', () => {
    const { stackName, props } = read({
      stackName: 'UnreadNotifierStaging',
      scheduleRateMinutes: '5',
      shards: '4',
      timeoutSeconds: '120',
      pollConcurrency: 32,
      failureStreakThreshold: '3',
      removalPolicy: 'destroy',
      logRetentionDays: '90',
      apiBaseUrl: 'https://eu.commbox.io',
      apiTokenSecretName: 'commbox/token',
    });
    expect(stackName).toBe('UnreadNotifierStaging');
    expect(props).toMatchObject({
      scheduleRate: Duration.minutes(5),
      shards: 4,
      timeout: Duration.seconds(120),
      pollConcurrency: 32,
      failureStreakThreshold: 3,
      removalPolicy: RemovalPolicy.DESTROY,
      logRetention: logs.RetentionDays.THREE_MONTHS,
      apiBaseUrl: 'https://eu.commbox.io',
      apiTokenSecretName: 'commbox/token',
    });
  });

  test('lists: comma-separated, JSON arrays, and filter objects', () => {
    const { props } = read({
      alertEmails: 'a@example.com, b@example.com',
      smsNumbers: '[{"endpoint": "+14155550100", "directions": ["increased"]}]',
      webhookUrls: [{ endpoint: 'https://hooks.example.com/x', identityId: 558355 }, 'https://hooks.example.com/y'],
      opsEmails: '["oncall@example.com"]',
      integratorQueue: '{"identityId": "9223372036854775807", "directions": "increased,decreased"}',
    });
    expect(props.alertEmails).toEqual([{ endpoint: 'a@example.com' }, { endpoint: 'b@example.com' }]);
    expect(props.smsNumbers).toEqual([{ endpoint: '+14155550100', directions: ['increased'] }]);
    expect(props.webhookUrls).toEqual([{ endpoint: 'https://hooks.example.com/x', identityId: '558355' }, { endpoint: 'https://hooks.example.com/y' }]);
    expect(props.opsEmails).toEqual(['oncall@example.com']);
    expect(props.integratorQueue).toEqual({ identityId: '9223372036854775807', directions: ['increased', 'decreased'] });
  });

  test('a subscription entry chooses its events: a list or a comma-separated string', () => {
    const { props } = read({
      alertEmails: '[{"endpoint": "a@example.com", "events": "unread.alert,unread.changed", "directions": ["increased"]}]',
      webhookUrls: [{ endpoint: 'https://hooks.example.com/x', events: ['unread.alert'] }],
    });

    expect(props.alertEmails).toEqual([{ endpoint: 'a@example.com', events: ['unread.alert', 'unread.changed'], directions: ['increased'] }]);
    expect(props.webhookUrls).toEqual([{ endpoint: 'https://hooks.example.com/x', events: ['unread.alert'] }]);
  });

  test('alertPolicy: an object or its JSON, each field checked and written as the CLI flags write it', () => {
    const asJson = read({ alertPolicy: '{"cooldown": "90m", "quietHours": "22:00-07:00", "timeZone": "Europe/Berlin", "minUnread": "3", "notifyCleared": "yes"}' });
    const asObject = read({ alertPolicy: { remindAfter: 'off', maxReminders: 2 } });

    expect(asJson.props.alertPolicy).toEqual({ cooldown: '90m', quietHours: '22:00-07:00', timeZone: 'Europe/Berlin', minUnread: 3, notifyCleared: true });
    expect(asObject.props.alertPolicy).toEqual({ remindAfter: 'off', maxReminders: 2 });
  });

  test('the longest schedule rate the NotPolling alarm can watch: 5040 minutes (two of them are CloudWatch\'s seven days)', () => {
    expect(read({ scheduleRateMinutes: '5040' }).props.scheduleRate).toEqual(Duration.minutes(5040));
  });

  test('the customer managed key of an imported token secret', () => {
    const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(read({ apiTokenSecretName: 'commbox/token', apiTokenSecretKmsKeyArn: keyArn }).props).toMatchObject({ apiTokenSecretName: 'commbox/token', apiTokenSecretKmsKeyArn: keyArn });
  });

  test.each([
    [true, {}],
    ['true', {}],
    [false, undefined],
    ['false', undefined],
  ])('integratorQueue=%p', (value, expected) => {
    expect(read({ integratorQueue: value }).props.integratorQueue).toEqual(expected);
  });

  test.each<[Partial<Record<ContextKey, unknown>>, RegExp]>([
    [{ shards: 'two' }, /context key "shards" must be a whole number/],
    [{ scheduleRateMinutes: '1.5' }, /"scheduleRateMinutes" must be a whole number/],
    [{ removalPolicy: 'snapshot' }, /"removalPolicy" must be "retain" or "destroy"/],
    [{ logRetentionDays: '31' }, /"logRetentionDays" must be one of/],
    [{ stackName: 'bad name' }, /"stackName" must be a CloudFormation stack name/],
    [{ alertEmails: '[not json' }, /"alertEmails" must be a valid JSON array/],
    [{ webhookUrls: [{ url: 'https://x.example.com' }] }, /"webhookUrls" must be entries with a string "endpoint"/],
    [{ alertEmails: [{ endpoint: 'a@example.com', identityId: 9007199254740993 }] }, /identityId written as a string/],
    [{ alertEmails: [{ endpoint: 'a@example.com', label: 'x' }] }, /only "endpoint", "events", "identityId" and "directions"/],
    [{ alertPolicy: '{"cooldown": "soon"}' }, /^context key "alertPolicy": invalid cooldown "soon": expected a duration such as 30s, 15m, 2h or 1d$/],
    [{ alertPolicy: { quietHours: '22:00' } }, /^context key "alertPolicy": invalid quietHours "22:00": expected a daily window HH:MM-HH:MM/],
    [{ alertPolicy: { timeZone: 'Mars/Olympus' } }, /^context key "alertPolicy": invalid timeZone "Mars\/Olympus": expected an IANA time zone/],
    [{ alertPolicy: { coolDown: '5m' } }, /^context key "alertPolicy" has an unknown field "coolDown"; the fields are minUnread, cooldown, quietHours, timeZone, remindAfter, maxReminders, notifyCleared$/],
    [{ alertPolicy: { snoozeUntil: '2026-03-01T08:00:00Z' } }, /snoozeUntil has no stack-wide default/],
    [{ alertPolicy: '[1]' }, /"alertPolicy" must be an object of alert policy fields/],
    [{ opsEmails: [{ endpoint: 'a@example.com', directions: ['increased'] }] }, /"opsEmails" must be plain email addresses/],
    [{ integratorQueue: 'yes' }, /"integratorQueue" must be true or a filter object/],
    [{ scheduleRateMinutes: '0' }, /"scheduleRateMinutes" must be from 1 to 5040/],
    [{ scheduleRateMinutes: '5041' }, /"scheduleRateMinutes" must be from 1 to 5040 \(the NotPolling alarm watches two intervals, and CloudWatch alarms look back at most 7 days\)/],
    [{ apiTokenSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abcd' }, /"apiTokenSecretKmsKeyArn" must be given only with apiTokenSecretName/],
    [{ apiTokenSecretName: 'commbox/token', apiTokenSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:alias/commbox' }, /"apiTokenSecretKmsKeyArn" must be a KMS key ARN/],
    [{ pollConcurrency: '0' }, /^context key "pollConcurrency" must be an integer from 1 to 1000: "0"$/],
    [{ failureStreakThreshold: 0 }, /^context key "failureStreakThreshold" must be an integer from 1 to 10000: "0"$/],
    [{ apiBaseUrl: 'http://api.commbox.io' }, /^context key "apiBaseUrl" must use https/],
  ])('%p is refused, naming the key', (context, message) => {
    expect(() => read(context)).toThrow(ContextError);
    expect(() => read(context)).toThrow(message);
  });

  test.each(['pollConcurrency', 'failureStreakThreshold', 'apiBaseUrl'] as const)('a refused %s names the context key, not the variable of the function', (key) => {
    expect(() => read({ [key]: key === 'apiBaseUrl' ? 'ftp://x' : '0' })).toThrow(/^context key /);
    expect(() => read({ [key]: key === 'apiBaseUrl' ? 'ftp://x' : '0' })).not.toThrow(/POLL_CONCURRENCY|FAILURE_STREAK_THRESHOLD|API_BASE_URL/);
  });
});

describe('context keys', () => {
  test.each([
    ['shardz', /^unknown context key "shardz"; did you mean "shards"\? the keys are stackName, /],
    ['pollconcurrency', /did you mean "pollConcurrency"\?/],
    ['topicName', /^unknown context key "topicName"; the keys are /],
  ])('%s is refused with a did-you-mean when one is close', (key, message) => {
    expect(() => checkContextKeys(['shards', key])).toThrow(ContextError);
    expect(() => checkContextKeys(['shards', key])).toThrow(message);
  });

  test('the keys of CDK itself pass: feature flags, aws:cdk:*, cli-telemetry, lookups', () => {
    expect(() => checkContextKeys(['@aws-cdk/core:checkSecretUsage', 'aws:cdk:bundling-stacks', 'cli-telemetry', 'availability-zones:account=1:region=x', 'shards'])).not.toThrow();
  });

  test('the app refuses an unknown key in one line, before anything is built or bundled', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-out-'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
      env: { PATH: process.env.PATH, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), shardz: 3 }) },
      timeout: 60_000,
    });

    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`unread-notifier app: error: unknown context key "shardz"; did you mean "shards"? the keys are ${Object.keys(CONTEXT_KEYS).join(', ')}\n`);
    expect(readdirSync(outdir)).toEqual([]);
  });
});

describe('stack props are checked before anything is synthesized', () => {
  const build = (props: UnreadNotifierStackProps) => () => new UnreadNotifierStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Check', props);

  test.each<[UnreadNotifierStackProps, RegExp]>([
    [{ alertEmails: [{ endpoint: 'not-an-email' }] }, /alertEmails: "not-an-email" is not an email address/],
    [{ smsNumbers: [{ endpoint: '0155 555' }] }, /smsNumbers: "0155 555" is not an E.164 phone number/],
    [{ webhookUrls: [{ endpoint: 'http://hooks.example.com' }] }, /webhookUrls: .* is not an https URL/],
    [{ webhookUrls: [{ endpoint: 'https://user:secret@hooks.example.com' }] }, /is not an https URL without credentials/],
    [{ alertEmails: [{ endpoint: 'a@example.com', identityId: '007' }] }, /identityId must be a positive 64-bit integer/],
    [{ alertEmails: [{ endpoint: 'a@example.com', identityId: '9223372036854775808' }] }, /identityId must be a positive 64-bit integer/],
    [{ alertEmails: [{ endpoint: 'a@example.com', directions: ['up' as never] }] }, /directions may hold only "increased" and "decreased"/],
    [
      { smsNumbers: [{ endpoint: '+14155550100', directions: ['increased'] }] },
      /smsNumbers \(\+14155550100\): a direction applies to unread.changed events only; .* \(its events are unread.alert unless "events" says otherwise\)/,
    ],
    [{ webhookUrls: [{ endpoint: 'https://hooks.example.com', events: ['unread.everything' as never] }] }, /events may hold only "unread.changed" and "unread.alert"/],
    [{ webhookUrls: [{ endpoint: 'https://hooks.example.com', events: [] }] }, /a subscription needs at least one event type/],
    [{ alertEmails: [{ endpoint: 'a@example.com' }, { endpoint: 'a@example.com' }] }, /listed twice/],
    [{ integratorQueue: { identityId: 'abc' } }, /integratorQueue: identityId must be/],
    [{ opsEmails: ['oncall'] }, /opsEmails: "oncall" is not an email address/],
    [{ opsEmails: ['a@example.com', 'a@example.com'] }, /opsEmails: an address is listed twice/],
    [{ shards: 0 }, /shards must be an integer from 1 to 100/],
    [{ shards: 101 }, /shards must be an integer from 1 to 100/],
    [{ scheduleRate: Duration.seconds(90) }, /whole number of minutes/],
    [{ timeout: Duration.seconds(60) }, /shorter than the schedule interval \(60 s\)/],
    [{ scheduleRate: Duration.minutes(30), timeout: Duration.minutes(16) }, /timeout must be from 10 seconds to 15 minutes/],
    [{ apiBaseUrl: 'http://api.commbox.io' }, /API_BASE_URL must use https/],
    [{ apiBaseUrl: 'https://api.commbox.io/v2' }, /API_BASE_URL must be an origin/],
    [{ pollConcurrency: 0 }, /POLL_CONCURRENCY must be an integer from 1 to 1000/],
    [{ failureStreakThreshold: 0 }, /FAILURE_STREAK_THRESHOLD must be an integer/],
    [{ scheduleRate: Duration.minutes(5041) }, /schedule interval must be at most 5040 minutes: the NotPolling alarm watches 2 intervals/],
    [{ apiTokenSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abcd' }, /encryptionKeyArn is for an imported secret/],
    [{ apiTokenSecretName: 'commbox/token', apiTokenSecretKmsKeyArn: 'alias/commbox' }, /encryptionKeyArn must be a KMS key ARN/],
  ])('%p', (props, message) => {
    expect(build(props)).toThrow(message);
  });

  test('the longest sensible setting is accepted: hourly, 15-minute timeout, 100 shards', () => {
    expect(build({ scheduleRate: Duration.hours(1), timeout: Duration.minutes(15), shards: 100 })).not.toThrow();
  });

  test('the longest schedule rate is accepted: 5040 minutes', () => {
    expect(build({ scheduleRate: Duration.minutes(5040) })).not.toThrow();
  });
});
