import { inspect } from 'node:util';
import { ConfigError, DEFAULTS, loadConfig, requireToken } from '../../lambda/config';

describe('loadConfig', () => {
  test('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      tableName: DEFAULTS.tableName,
      pollConcurrency: 128,
      requestTimeoutMs: 5000,
      maxAttempts: 4,
      claimLeaseMs: 120_000,
      failureStreakThreshold: 5,
    });
    expect(config.apiBaseUrl.href).toBe('https://api.commbox.io/');
    expect(Object.isFrozen(config)).toBe(true);
  });

  test.each([
    ['POLL_CONCURRENCY', '0'],
    ['POLL_CONCURRENCY', 'ten'],
    ['REQUEST_TIMEOUT_MS', '1.5'],
    ['MAX_ATTEMPTS', '-1'],
    ['CLAIM_LEASE_SECONDS', '99999999'],
    ['FAILURE_STREAK_THRESHOLD', '0'],
    ['TOPIC_ARN', 'not-an-arn'],
    ['TABLE_NAME', 'a b'],
  ])('refuses %s=%j naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  test('prefers the Secrets Manager id to a token in the environment', () => {
    expect(loadConfig({ API_TOKEN: 't', API_TOKEN_SECRET_ID: 'commbox/token' }).token).toEqual({ kind: 'secret', secretId: 'commbox/token' });
  });

  test('keeps a token from the environment redacted in JSON, strings and inspection', () => {
    const config = loadConfig({ API_TOKEN: 'canary-5f1e' });
    const source = requireToken(config);

    expect(JSON.stringify(config)).not.toContain('canary-5f1e');
    expect(inspect(config, { depth: 5 })).not.toContain('canary-5f1e');
    expect(source.kind === 'value' && source.token.reveal()).toBe('canary-5f1e');
  });

  test('requires a token only when asked, naming both variables', () => {
    expect(() => requireToken(loadConfig({}))).toThrow(/API_TOKEN .*API_TOKEN_SECRET_ID/);
  });
});

describe('loadConfig: the stack-wide alert policy', () => {
  test('is the built-in policy when no ALERT_* variable is set', () => {
    expect(loadConfig({}).alertDefaults).toEqual({
      minUnread: 1,
      cooldown: 900_000,
      quietHours: null,
      timeZone: 'UTC',
      remindAfter: null,
      maxReminders: 3,
      notifyCleared: false,
      snoozeUntil: null,
    });
  });

  test('takes each field from its ALERT_* variable; a blank one is unset', () => {
    const config = loadConfig({ ALERT_COOLDOWN: '20s', ALERT_QUIET_HOURS: '22:00-07:00', ALERT_TIME_ZONE: 'Europe/Berlin', ALERT_NOTIFY_CLEARED: 'true', ALERT_MIN_UNREAD: ' ' });

    expect(config.alertDefaults).toMatchObject({ cooldown: 20_000, quietHours: { start: 1320, end: 420 }, timeZone: 'Europe/Berlin', notifyCleared: true, minUnread: 1 });
  });

  test.each([
    ['ALERT_COOLDOWN', 'soon', /^invalid ALERT_COOLDOWN "soon": expected a duration/],
    ['ALERT_MIN_UNREAD', '0', /^invalid ALERT_MIN_UNREAD "0": expected a whole number from 1/],
    ['ALERT_TIME_ZONE', 'Mars/Olympus', /^invalid ALERT_TIME_ZONE "Mars\/Olympus": expected an IANA time zone/],
  ])('refuses a bad %s, naming the variable (a ConfigError: exit 2 on the CLI)', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
