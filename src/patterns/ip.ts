/**
 * IP addresses and CIDR blocks for the `cidr` operator (and for exact-value patterns that are IP
 * addresses, which event-ruler turns into single-address ranges). Addresses are represented as bit
 * strings so that a CIDR block is simply a prefix of them.
 * @see event-ruler CIDR.java
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

const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function byteBits(n: number, width: number): string {
  return n.toString(2).padStart(width, "0");
}

function parseIpv4(text: string): string | undefined {
  if (!IPV4.test(text)) return undefined;
  return text
    .split(".")
    .map((o) => byteBits(Number(o), 8))
    .join("");
}

function parseIpv6(text: string): string | undefined {
  if (text.length < 2 || !text.includes(":")) return undefined;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) !== -1) {
    // An embedded IPv4 tail (::ffff:10.0.0.1) stands for the last two hextets.
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    const hi = parseInt(v4.slice(0, 16), 2).toString(16);
    const lo = parseInt(v4.slice(16), 2).toString(16);
    body = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): string[] | undefined => {
    if (part === "") return [];
    const groups = part.split(":");
    return groups.every((g) => HEXTET.test(g)) ? groups : undefined;
  };
  const left = groupsOf(halves[0] ?? "");
  const right = halves.length === 2 ? groupsOf(halves[1] ?? "") : [];
  if (left === undefined || right === undefined) return undefined;
  let groups = left;
  if (halves.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array<string>(missing).fill("0"), ...right];
  }
  if (groups.length !== 8) return undefined;
  return groups.map((g) => byteBits(parseInt(g, 16), 16)).join("");
}

/** Parses an IPv4 or IPv6 address; `undefined` when the text is not one. */
export function parseIp(text: string): IpBits | undefined {
  if (text.length > 45) return undefined;
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, bits: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 6, bits: v6 };
  return undefined;
}

/** Parses `address/length`; returns the block, or a reason why the text is not a CIDR block. */
export function parseCidr(text: string): CidrBlock | string {
  const slash = text.indexOf("/");
  if (slash === -1 || text.indexOf("/", slash + 1) !== -1) return `Malformed CIDR, one '/' required: ${text}`;
  const ip = parseIp(text.slice(0, slash));
  if (ip === undefined) return `Nonstandard IP address: ${text.slice(0, slash)}`;
  const lengthText = text.slice(slash + 1);
  if (!/^-?[0-9]+$/.test(lengthText)) return `Malformed CIDR, mask bits must be an integer: ${text}`;
  const prefixLength = Number(lengthText);
  if (prefixLength < 0) return `Malformed CIDR, mask bits must not be negative: ${text}`;
  // As event-ruler: a full-length mask is a single address, written without one.
  if (ip.family === 4 && prefixLength >= 32) return `Malformed CIDR, IPv4 mask bits must be < 32: ${text}`;
  if (ip.family === 6 && prefixLength >= 128) return `Malformed CIDR, IPv6 mask bits must be < 128: ${text}`;
  return { ...ip, prefixLength };
}
