import { isLocalRun } from '../../lambda/config';

describe('isLocalRun: AWS_ENDPOINT_URL_DYNAMODB on loopback (CONTRACT.md, Local runs)', () => {
  test.each(['http://127.0.0.1:8000', 'http://127.4.5.6:4567', 'http://localhost:8000', 'http://[::1]:8000', ' http://127.0.0.1:8000 '])(
    '%j is a local run',
    (endpoint) => {
      expect(isLocalRun({ AWS_ENDPOINT_URL_DYNAMODB: endpoint })).toBe(true);
    },
  );

  test.each([
    ['unset', undefined],
    ['empty', ''],
    ['AWS itself', 'https://dynamodb.eu-west-1.amazonaws.com'],
    ['another machine', 'http://10.0.0.5:8000'],
    ['a name that starts like localhost', 'http://localhost.example.com:8000'],
    ['a name that starts like 127.', 'http://127.0.0.1.example.com:8000'],
    ['not a URL', '127.0.0.1:8000:x'],
  ])('%s is not', (_what, endpoint) => {
    expect(isLocalRun({ AWS_ENDPOINT_URL_DYNAMODB: endpoint })).toBe(false);
  });

  test('another loopback endpoint variable does not make one', () => {
    expect(isLocalRun({ AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:9911' })).toBe(false);
  });
});
