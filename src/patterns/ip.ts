/**
 * IP addresses and CIDR blocks for the `cidr` operator and for exact-value patterns that are IP
 * addresses (event-ruler turns those into one-address ranges). Addresses are bit strings, so that a
 * CIDR block is a prefix of them.
 * @see docs/pattern-semantics.md R29–R33
 * @see event-ruler CIDR.java, Constants.IPv4_REGEX / IPv6_REGEX
 */

/** An address family and the address as a string of '0'/'1' characters (32 or 128 of them). */
export interface IpBits {
  readonly family: 4 | 6;
  readonly bits: string;
}

/** A CIDR block: the first `prefixLength` bits of `bits` are fixed. */
export interface CidrBlock extends IpBits {
  readonly prefixLength: number;
}

const IPV4 = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const HEX_GROUP = /^[0-9a-fA-F]+$/;
const MAPPED_PREFIX = "0".repeat(80) + "1".repeat(16);

function bitsOf(n: number, width: number): string {
  return n.toString(2).padStart(width, "0");
}

function parseIpv4(text: string): string | undefined {
  // Leading zeros are decimal, as Java's textToNumericFormatV4 reads them.
  if (text.length > 15 || !IPV4.test(text)) return undefined;
  const parts = text.split(".").map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.map((p) => bitsOf(p, 8)).join("");
}

function parseIpv6(text: string): string | undefined {
  if (!IPV6.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!HEX_GROUP.test(g)) return undefined;
      const significant = g.replace(/^0+/, ""); // any number of leading zeros, as Java accepts
      if (significant.length > 4) return undefined;
      out.push(significant === "" ? 0 : parseInt(significant, 16));
    }
    return out;
  };
  const left = groupsOf(halves[0] ?? "");
  const right = halves.length === 2 ? groupsOf(halves[1] ?? "") : [];
  if (left === undefined || right === undefined) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array<number>(missing).fill(0), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return undefined;
  return groups.map((g) => bitsOf(g, 16)).join("");
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 addresses are IPv4); `undefined` when not one. */
export function parseIp(text: string): IpBits | undefined {
  if (text.length > 45 || text.length < 2) return undefined;
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, bits: v4 };
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  if (v6.startsWith(MAPPED_PREFIX)) return { family: 4, bits: v6.slice(96) };
  return { family: 6, bits: v6 };
}

/**
 * Parses `address/length`; returns the block, or a reason why the text is not a CIDR block. Read as
 * event-ruler reads it (CIDR.java): Java's `split("/")`, which drops trailing empty parts (so
 * `10.0.0.0/8/` is `10.0.0.0/8`), and `Integer.parseInt`, which takes a sign (`/+8`) and nothing
 * beyond 32 bits.
 */
export function parseCidr(text: string): CidrBlock | string {
  const parts = text.split("/");
  while (parts.length > 1 && parts.at(-1) === "") parts.pop();
  const [address = "", lengthText = ""] = parts;
  if (parts.length !== 2) return `Malformed CIDR, one '/' required: ${text}`;
  const ip = parseIp(address);
  if (ip === undefined) return `Nonstandard IP address: ${address}`;
  const prefixLength = /^[+-]?[0-9]+$/.test(lengthText) ? Number(lengthText) : NaN;
  if (!(Math.abs(prefixLength) <= 2 ** 31)) return `Malformed CIDR, mask bits must be an integer: ${text}`;
  if (prefixLength < 0) return `Malformed CIDR, mask bits must not be negative: ${text}`;
  // As event-ruler: a full-length mask is a single address, written without one.
  if (ip.family === 4 && prefixLength >= 32) return `Malformed CIDR, IPv4 mask bits must be < 32: ${text}`;
  if (ip.family === 6 && prefixLength >= 128) return `Malformed CIDR, IPv6 mask bits must be < 128: ${text}`;
  return { ...ip, prefixLength };
}

/**
 * Whether an address lies in a block, with event-ruler's comparison of hex digits of different
 * lengths (R33): an IPv6 address is compared with an IPv4 block by its first 32 bits; an IPv4
 * address lies in an IPv6 block only when a prefix of it is strictly inside the block's bounds,
 * that is, it shares the block's prefix (shorter than 32 bits) and its remaining bits up to 32 are
 * neither all zeros nor all ones.
 */
export function ipInBlock(ip: IpBits, block: CidrBlock): boolean {
  const p = block.prefixLength;
  const fixed = block.bits.slice(0, p);
  if (ip.family === block.family || (ip.family === 6 && block.family === 4)) {
    return ip.bits.startsWith(fixed);
  }
  return p < 32 && ip.bits.startsWith(fixed) && mixedBits(ip.bits, p);
}

/** Whether bits [from, 32) of an IPv4 bit string hold both a 0 and a 1. */
export function mixedBits(bits: string, from: number): boolean {
  const rest = bits.slice(from, 32);
  return rest.includes("0") && rest.includes("1");
}
