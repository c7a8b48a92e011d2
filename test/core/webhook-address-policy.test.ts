import { addressRefusal, isIpLiteral } from '../../lambda/core/webhook-address-policy';

const inLambda = { allowLoopback: false };
const localRun = { allowLoopback: true };

describe('addresses a webhook may go to', () => {
  test.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '192.169.0.1', '223.255.255.255', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e', '[2606:4700::6810:84e5]'])(
    '%s (public unicast) is allowed',
    (address) => {
      expect(addressRefusal(address, inLambda)).toBeUndefined();
    },
  );
});

describe('addresses a webhook may never go to', () => {
  test.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'carrier-grade-nat'],
    ['100.127.255.254', 'carrier-grade-nat'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.192', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'reserved'],
    ['224.0.0.251', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:8.8.8.8', 'ipv4-embedded-in-ipv6'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::808:808', 'ipv4-embedded-in-ipv6'],
    ['2002:7f00:1::', 'ipv4-embedded-in-ipv6'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'ipv4-embedded-in-ipv6'],
    ['2001:db8::1', 'documentation'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['fd00:0ec2:0000:0000:0000:0000:0000:0254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fec0::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
  ])('%s is refused as %s', (address, refusal) => {
    expect(addressRefusal(address, inLambda)).toBe(refusal);
  });

  test.each(['localhost', 'example.com', '0x7f.1', '2130706433', '127.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '::1::', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', ''])(
    '%p is not an address at all (hosts are normalised before they get here)',
    (text) => {
      expect(addressRefusal(text, inLambda)).toBe('not-an-ip-address');
    },
  );
});

describe('in a local run', () => {
  test.each(['127.0.0.1', '127.0.0.2', '::1', '[::1]'])('plain loopback %s is allowed', (address) => {
    expect(addressRefusal(address, localRun)).toBeUndefined();
  });

  test.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['0.0.0.0', 'unspecified'],
  ])('%s is still refused as %s', (address, refusal) => {
    expect(addressRefusal(address, localRun)).toBe(refusal);
  });
});

test.each([
  ['127.0.0.1', true],
  ['[::1]', true],
  ['::ffff:7f00:1', true],
  ['hooks.example.com', false],
  ['localhost', false],
])('isIpLiteral(%p) is %p', (host, literal) => {
  expect(isIpLiteral(host)).toBe(literal);
});
