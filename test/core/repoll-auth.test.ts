import crypto from 'node:crypto';
import { inspect } from 'node:util';
import {
  MIN_REPOLL_SECRET_LENGTH,
  parseRepollPath,
  presentedSecrets,
  redactRepollPath,
  RepollSecretError,
  RepollSecrets,
} from '../../lambda/core/repoll-auth';

const CURRENT = 'current-secret-0123456789';
const PREVIOUS = 'previous-secret-0123456789';

describe('RepollSecrets', () => {
  it('matches the current secret and nothing else', () => {
    const secrets = RepollSecrets.of(CURRENT);

    expect(secrets.matchesAny([CURRENT])).toBe(true);
    expect(secrets.matchesAny([`${CURRENT}x`])).toBe(false);
    expect(secrets.matchesAny([CURRENT.slice(0, -1)])).toBe(false);
    expect(secrets.matchesAny([''])).toBe(false);
    expect(secrets.matchesAny([])).toBe(false);
  });

  it('during a rotation both the current and the previous secret match', () => {
    const secrets = RepollSecrets.of(CURRENT, PREVIOUS);

    expect(secrets.count).toBe(2);
    expect(secrets.matchesAny([CURRENT])).toBe(true);
    expect(secrets.matchesAny([PREVIOUS])).toBe(true);
    expect(secrets.matchesAny(['another-secret-0123456789'])).toBe(false);
  });

  it('matches when any presented secret is valid (a header and a path secret)', () => {
    expect(RepollSecrets.of(CURRENT).matchesAny(['wrong-but-long-enough', CURRENT])).toBe(true);
  });

  it('compares every presented secret with every valid one over 32-byte digests, with no early exit', () => {
    const secrets = RepollSecrets.of(CURRENT, PREVIOUS);
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      expect(secrets.matchesAny([CURRENT, 'x', 'y'.repeat(500)])).toBe(true);

      expect(compare).toHaveBeenCalledTimes(6);
      for (const [a, b] of compare.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    } finally {
      compare.mockRestore();
    }
  });

  it('an empty previous secret means no rotation', () => {
    expect(RepollSecrets.of(CURRENT, '').count).toBe(1);
  });

  it.each([
    ['', 'shorter than'],
    ['x'.repeat(MIN_REPOLL_SECRET_LENGTH - 1), 'shorter than'],
    ['has a space in it 0123456789', 'whitespace'],
    ['tab\there-0123456789', 'whitespace'],
  ])('refuses %j as a secret, without quoting it', (secret, problem) => {
    const make = (): RepollSecrets => RepollSecrets.of(secret);

    expect(make).toThrow(RepollSecretError);
    expect(make).toThrow(problem);
    if (secret !== '') expect(() => make()).not.toThrow(secret);
  });

  it('prints as [redacted], keeping no secret in sight', () => {
    const secrets = RepollSecrets.of(CURRENT, PREVIOUS);

    expect(JSON.stringify({ secrets })).toBe('{"secrets":"[redacted]"}');
    expect(String(secrets)).toBe('[redacted]');
    expect(inspect(secrets, { showHidden: true, depth: 5 })).not.toContain(CURRENT);
  });
});

describe('parseRepollPath', () => {
  it.each([
    ['/repoll', { kind: 'repoll' }],
    ['/repoll/', { kind: 'repoll' }],
    ['/repoll?x=1', { kind: 'repoll' }],
    ['/repoll/s3cret', { kind: 'repoll', pathSecret: 's3cret' }],
    ['/repoll/a%2Fb', { kind: 'repoll', pathSecret: 'a/b' }],
    ['/repoll/bad%E0', { kind: 'repoll', pathSecret: 'bad%E0' }],
    ['/repoll/a/b', { kind: 'other' }],
    ['/other', { kind: 'other' }],
    ['/repollx', { kind: 'other' }],
    ['/', { kind: 'other' }],
  ])('%s is %j', (path, route) => {
    expect(parseRepollPath(path)).toEqual(route);
  });
});

describe('presentedSecrets', () => {
  it('reads Authorization: Bearer, whatever the case of the header name and the scheme', () => {
    expect(presentedSecrets({ kind: 'repoll' }, { Authorization: `bearer ${CURRENT}` })).toEqual([CURRENT]);
    expect(presentedSecrets({ kind: 'repoll' }, { authorization: `Bearer  ${CURRENT} ` })).toEqual([CURRENT]);
  });

  it('ignores other schemes and an empty bearer', () => {
    expect(presentedSecrets({ kind: 'repoll' }, { authorization: `Basic ${CURRENT}` })).toEqual([]);
    expect(presentedSecrets({ kind: 'repoll' }, { authorization: 'Bearer ' })).toEqual([]);
  });

  it('reads the path secret, and both when both are sent', () => {
    expect(presentedSecrets({ kind: 'repoll', pathSecret: PREVIOUS }, { authorization: `Bearer ${CURRENT}` })).toEqual([CURRENT, PREVIOUS]);
  });
});

describe('redactRepollPath', () => {
  it.each([
    ['/repoll', '/repoll'],
    ['/repoll/', '/repoll'],
    [`/repoll/${CURRENT}`, '/repoll/***'],
    [`/repoll/${CURRENT}?q=${CURRENT}`, '/repoll/***'],
    [`/repoll/${CURRENT}/more`, '/repoll/***'],
    ['/health', '/health'],
    [`/${CURRENT}`, '/***'],
    [`/Repoll/${CURRENT}`, '/***'],
    ['/', '/***'],
  ])('%s logs as %s', (path, logged) => {
    expect(redactRepollPath(path)).toBe(logged);
  });
});
