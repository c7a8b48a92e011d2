/**
 * Which IP addresses a webhook may be delivered to: public unicast only. A receiver URL is
 * chosen by whoever registers it, so without this check a delivery could reach the cloud's
 * metadata service, the Lambda runtime API on loopback, or anything in a private network
 * (SSRF). Checked on the literal host of a URL and on every address its name resolves to.
 *
 * Inputs are canonical textual addresses, as WHATWG URL parsing and `dns.lookup` produce them
 * (`0x7f.1`, `2130706433` and `127.1` are already `127.0.0.1` by then).
 */

export type AddressRefusal =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'carrier-grade-nat'
  | 'link-local'
  | 'metadata'
  | 'multicast'
  | 'documentation'
  | 'reserved'
  | 'ipv4-embedded-in-ipv6'
  | 'not-an-ip-address';

/** Well-known instance metadata and platform endpoints, named so a refusal says what was hit. */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254', // AWS, GCP, Azure, OpenStack instance metadata
  '169.254.170.2', // AWS ECS task metadata and credentials
  '169.254.170.23', // AWS EKS pod identity agent
  '100.100.100.200', // Alibaba Cloud metadata
  '168.63.129.16', // Azure wire server (a public-looking address)
  'fd00:ec2::254', // AWS instance metadata over IPv6
  'fd00:ec2::23', // AWS EKS pod identity agent over IPv6
]);

const IPV4_RANGES: readonly (readonly [string, number, AddressRefusal])[] = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade-nat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // future use and the broadcast address
];

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseIpv4(text: string): number | undefined {
  const match = IPV4.exec(text);
  if (match === null) return undefined;
  return match.slice(1).reduce((value, octet) => value * 256 + Number(octet), 0);
}

function inIpv4Range(value: number, base: string, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(value / size) === Math.floor((parseIpv4(base) as number) / size);
}

function ipv4Refusal(value: number): AddressRefusal | undefined {
  const dotted = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
  if (METADATA_ADDRESSES.has(dotted)) return 'metadata';
  return IPV4_RANGES.find(([base, prefix]) => inIpv4Range(value, base, prefix))?.[2];
}

/** Eight 16-bit groups, or undefined. Zone ids (`fe80::1%eth0`) are not addresses we accept. */
function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const v4 = parseIpv4(dotted[2] as string);
    if (v4 === undefined) return undefined;
    head = (dotted[1] as string).endsWith('::') ? (dotted[1] as string) : (dotted[1] as string).slice(0, -1);
    tail.push(Math.floor(v4 / 65536), v4 % 65536);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  if (left === undefined || right === undefined) return undefined;
  const known = left.length + right.length + tail.length;
  if (halves.length === 2) {
    if (known > 7) return undefined;
    return [...left, ...new Array<number>(8 - known).fill(0), ...right, ...tail];
  }
  return known === 8 ? [...left, ...tail] : undefined;
}

function ipv6Refusal(g: readonly number[]): AddressRefusal | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const embedded = (): AddressRefusal => ipv4Refusal(g6 * 65536 + g7) ?? 'ipv4-embedded-in-ipv6';
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0) {
    if (g5 === 0 && g6 === 0 && g7 <= 1) return g7 === 0 ? 'unspecified' : 'loopback'; // ::, ::1
    if (g5 === 0 || g5 === 0xffff) return embedded(); // ::a.b.c.d (IPv4-compatible), ::ffff:a.b.c.d (IPv4-mapped)
  }
  // NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16) and Teredo (2001::/32) all carry an
  // IPv4 address that the v4 checks would never see; no webhook host needs them.
  if (g0 === 0x64 && g1 === 0xff9b) return embedded();
  if (g0 === 0x2002 || (g0 === 0x2001 && g1 === 0)) return 'ipv4-embedded-in-ipv6';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'documentation';
  if (g0 === 0x3fff && g1 < 0x1000) return 'documentation';
  if (g0 === 0x2001 && g1 < 0x200) return 'reserved'; // IETF protocol assignments, 2001::/23
  if (g0 >= 0xfc00 && g0 <= 0xfdff) return 'private'; // unique local, fc00::/7
  if (g0 >= 0xfe80 && g0 <= 0xfeff) return 'link-local'; // fe80::/10 and the old site-local fec0::/10
  if (g0 >= 0xff00) return 'multicast';
  if (g0 < 0x2000 || g0 > 0x3fff) return 'reserved'; // outside global unicast, 2000::/3
  return undefined;
}

function canonicalIpv6(g: readonly number[]): string {
  // Only for the metadata lookup: the longest run of zero groups becomes "::".
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j += 1;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best.length < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

/** Why a delivery may not go to this address, or undefined when it may. Loopback passes only with `allowLoopback` (local runs). */
export function addressRefusal(address: string, options: { readonly allowLoopback: boolean }): AddressRefusal | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const v4 = parseIpv4(bare);
  const v6 = v4 === undefined ? parseIpv6(bare) : undefined;
  if (v4 === undefined && v6 === undefined) return 'not-an-ip-address';
  if (v6 !== undefined && METADATA_ADDRESSES.has(canonicalIpv6(v6))) return 'metadata';
  const refusal = v4 !== undefined ? ipv4Refusal(v4) : ipv6Refusal(v6 as number[]);
  // Only plain loopback (127/8, ::1) is let through in local runs, never a mapped or embedded form.
  if (refusal === 'loopback' && options.allowLoopback && isPlainLoopback(bare)) return undefined;
  return refusal;
}

function isPlainLoopback(bare: string): boolean {
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return ipv4Refusal(v4) === 'loopback';
  const v6 = parseIpv6(bare);
  return v6 !== undefined && v6.slice(0, 7).every((x) => x === 0) && v6[7] === 1;
}

/** An IP literal, as opposed to a name that needs resolving (brackets around IPv6 allowed). */
export function isIpLiteral(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return parseIpv4(bare) !== undefined || parseIpv6(bare) !== undefined;
}
