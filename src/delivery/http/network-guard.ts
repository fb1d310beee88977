/**
 * The network guard: HTTP targets may only reach public unicast addresses, unless the operator
 * allowed a network with `BUSBAR_ALLOW_TARGET_NETWORKS`. The check runs on the address a host name
 * resolved to ({@link createGuardedLookup}, the `lookup` of every request), so that a name pointing
 * at a private address (or re-pointed there after a first check) is refused too; IP literals, for
 * which Node skips `lookup`, are checked directly ({@link checkHost}).
 */
import dns from "node:dns";
import net from "node:net";
import ipaddr from "ipaddr.js";

/** The environment variable that lists the networks HTTP targets may reach although they are not public. */
export const ALLOW_TARGET_NETWORKS_ENV = "BUSBAR_ALLOW_TARGET_NETWORKS";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** The networks HTTP targets may reach in addition to public unicast addresses. */
export interface AllowedNetworks {
  /** The CIDRs as configured (normalized: each its network's address and prefix), in order. */
  readonly cidrs: readonly string[];
  /**
   * The entries given with bits set past their prefix (`10.0.0.5/8`), as given: each allows its whole
   * network (`10.0.0.0/8`), which a typo for a single host (`/32`) would not want.
   */
  readonly hostBitsSet: readonly string[];
  /** Whether `address` (an IP literal) lies in one of the networks. */
  contains(address: string): boolean;
}

/**
 * Parses `BUSBAR_ALLOW_TARGET_NETWORKS`: comma-separated CIDRs such as `127.0.0.0/8,::1/128`
 * (blanks around entries are ignored; an empty or absent value allows nothing). A bare address
 * counts as a single-host network (`/32` or `/128`).
 * @throws {Error} naming the first entry that is not a CIDR.
 */
export function parseAllowedNetworks(text: string | undefined): AllowedNetworks {
  const ranges: [Address, number][] = [];
  const cidrs: string[] = [];
  const hostBitsSet: string[] = [];
  for (const raw of (text ?? "").split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const range = parseCidr(entry);
    if (range === undefined) {
      throw new Error(
        `${ALLOW_TARGET_NETWORKS_ENV}: "${entry}" is not a CIDR (expected an address and a prefix length, such as 127.0.0.0/8 or ::1/128)`,
      );
    }
    ranges.push(range);
    const network = networkAddress(range[0], range[1]);
    if (network.toString() !== range[0].toString()) hostBitsSet.push(entry);
    cidrs.push(`${network.toString()}/${range[1]}`);
  }
  return Object.freeze({
    cidrs: Object.freeze(cidrs),
    hostBitsSet: Object.freeze(hostBitsSet),
    contains(address: string): boolean {
      const parsed = parseAddress(address);
      return parsed !== undefined && inRanges(parsed, ranges);
    },
  });
}

/** No networks beyond the public ones (the default). */
export const NO_ALLOWED_NETWORKS: AllowedNetworks = parseAllowedNetworks(undefined);

/** How strict a check is. */
export interface GuardPolicy {
  readonly allowed: AllowedNetworks;
  /**
   * Only addresses in `allowed` pass, public ones included (for plain-http API destinations, which
   * EventBridge refuses and Busbar permits only towards networks the operator listed).
   * @default false
   */
  readonly allowedOnly?: boolean;
}

/**
 * Why an address is refused, as a phrase for error messages ("a loopback address, …"), or undefined
 * when it may be called. The ranges are ipaddr.js's special-purpose ranges (private, loopback,
 * link-local, unique local, carrier-grade NAT, multicast, reserved, …); an IPv4-mapped IPv6
 * address is judged as the IPv4 address it carries, and an IPv4-compatible one (deprecated) is refused
 * unless an IPv6 network allows it.
 */
export function refusalReason(address: string, policy: GuardPolicy): string | undefined {
  const parsed = parseAddress(address);
  if (parsed === undefined) return "not an IP address";
  // An IPv4-mapped address is judged as its IPv4 address (parseAddress made it one); an
  // IPv4-compatible one is an IPv6 address of its own, which only an IPv6 network allows.
  if (policy.allowed.contains(address)) return undefined;
  const embedded = embeddedIPv4(parsed);
  if (policy.allowedOnly === true) {
    return `plain http may only call addresses in a network listed in ${ALLOW_TARGET_NETWORKS_ENV} (use https)`;
  }
  const range = rangeOf(embedded ?? parsed, embedded !== undefined);
  if (range === "unicast") return undefined;
  return `${describeRange(range)} address, which targets may only reach in a network listed in ${ALLOW_TARGET_NETWORKS_ENV}`;
}

/** A connection to an address the guard refuses. Never worth retrying until the configuration changes. */
export class AddressRefusedError extends Error {
  override readonly name = "AddressRefusedError";
  readonly code = "ERR_BUSBAR_ADDRESS_REFUSED";

  constructor(
    /** The host of the URL (a name or an IP literal). */
    readonly host: string,
    /** The refused address. */
    readonly address: string,
    /** Why, from {@link refusalReason}. */
    readonly reason: string,
  ) {
    super(`refused to call ${host === address ? address : `${host} (${address})`}: ${reason}`);
  }
}

/**
 * Checks a URL host before connecting: an IP literal (bracketed or not) is checked here, because
 * Node does not call `lookup` for literals; a name is left to {@link createGuardedLookup}.
 * @returns the error to fail with, or undefined.
 */
export function checkHost(hostname: string, policy: GuardPolicy): AddressRefusedError | undefined {
  const host = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  if (net.isIP(host) === 0) return undefined;
  const reason = refusalReason(host, policy);
  return reason === undefined ? undefined : new AddressRefusedError(host, host, reason);
}

/** The signature of `dns.lookup` that `net.connect` calls (with `all: true` under autoSelectFamily). */
export type LookupFunction = NonNullable<net.TcpNetConnectOpts["lookup"]>;

/**
 * A `lookup` for `http.request` that resolves the name, drops the addresses the guard refuses, and
 * fails with {@link AddressRefusedError} when none is left. The connection then goes to a checked
 * address, so DNS answers that change between a check and the connect (rebinding) cannot get past it.
 */
export function createGuardedLookup(
  policy: GuardPolicy,
  resolve: typeof dns.lookup = dns.lookup,
): LookupFunction {
  // Connections opened together to one host share one lookup: each is a getaddrinfo call on libuv's
  // thread pool (four threads, shared with file system work), which cannot be cancelled and keeps the
  // process alive until it returns. A target whose name resolves slowly or not at all, retried by
  // hundreds of deliveries, otherwise queued that many lookups: measured in the ninth session,
  // 131 still pending after a SIGTERM held the process for 50-100 s after it had stopped.
  const inFlight = new Map<string, Array<(error: Error | null, addresses: dns.LookupAddress[]) => void>>();
  const resolveShared = (
    hostname: string,
    family: number,
    hints: number,
    done: (error: Error | null, addresses: dns.LookupAddress[]) => void,
  ): void => {
    const key = `${family}\u0000${hints}\u0000${hostname}`;
    const waiting = inFlight.get(key);
    if (waiting !== undefined) {
      waiting.push(done);
      return;
    }
    const waiters = [done];
    inFlight.set(key, waiters);
    resolve(hostname, { family, hints, all: true }, (error, addresses) => {
      inFlight.delete(key);
      for (const waiter of waiters) waiter(error, error === null ? addresses : []);
    });
  };
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    resolveShared(hostname, family, options.hints ?? 0, (error, addresses) => {
      if (error !== null) {
        callback(error, "", undefined);
        return;
      }
      let refused: AddressRefusedError | undefined;
      const permitted = addresses.filter((entry) => {
        const reason = refusalReason(entry.address, policy);
        if (reason !== undefined) refused ??= new AddressRefusedError(hostname, entry.address, reason);
        return reason === undefined;
      });
      const first = permitted[0];
      if (first === undefined) {
        const noAddress = Object.assign(new Error(`${hostname} resolved to no address`), {
          code: "ENOTFOUND",
        });
        callback(refused ?? noAddress, "", undefined);
      } else if (options.all === true) {
        callback(null, permitted);
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}

function parseCidr(entry: string): [Address, number] | undefined {
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? undefined : entry.slice(slash + 1);
  // net.isIP is strict (dotted-quad decimal IPv4, RFC 4291 IPv6); ipaddr.js alone accepts "10" or "0x0a.0.0.0".
  const family = net.isIP(address);
  if (family === 0 || address.includes("%")) return undefined;
  const max = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  const parsed = parseIp(address);
  // An IPv6 network inside ::ffff:0:0/96 is an IPv4 network: match it as one.
  if (parsed.kind() === "ipv6" && prefix >= 96 && isMapped(parsed)) {
    return [(parsed as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  return [parsed, prefix];
}

function parseAddress(address: string): Address | undefined {
  const family = net.isIP(address.split("%")[0] ?? "");
  if (family === 0) return undefined;
  const parsed = parseIp(address);
  const embedded = isMapped(parsed) ? embeddedIPv4(parsed) : undefined;
  return embedded ?? parsed;
}

/**
 * ipaddr.parse of an address `net.isIP` accepts. ipaddr.js (2.5) reads an IPv4-compatible address
 * written `::a.b.c.d` as the IPv4-mapped `::ffff:a.b.c.d`; with a leading zero group it reads it right.
 */
/** The first address of `address`'s network of `prefix` bits (its bits past the prefix cleared). */
function networkAddress(address: Address, prefix: number): Address {
  const bytes = address.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const kept = Math.min(8, Math.max(0, prefix - i * 8));
    bytes[i] = (bytes[i] as number) & ((0xff << (8 - kept)) & 0xff);
  }
  return ipaddr.fromByteArray(bytes);
}

function parseIp(address: string): Address {
  return ipaddr.parse(address.startsWith("::") && address.includes(".") ? `0${address}` : address);
}

function inRanges(address: Address, ranges: readonly [Address, number][]): boolean {
  return ranges.some(
    ([network, prefix]) => network.kind() === address.kind() && address.match(network, prefix),
  );
}

function isMapped(address: Address): boolean {
  return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress();
}

/**
 * The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`,
 * deprecated) IPv6 address; `::` and `::1` are not IPv4-compatible.
 */
function embeddedIPv4(address: Address): ipaddr.IPv4 | undefined {
  if (address.kind() !== "ipv6") return undefined;
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const [a, b, c, d, e, f, g, h] = v6.parts;
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0 && (g !== 0 || (h ?? 0) > 1)) {
    return ipaddr.IPv4.parse(`${(g ?? 0) >> 8}.${(g ?? 0) & 255}.${(h ?? 0) >> 8}.${(h ?? 0) & 255}`);
  }
  return undefined;
}

function rangeOf(address: Address, ipv4Compatible: boolean): string {
  // IPv4-compatible addresses are deprecated (RFC 4291 §2.5.5.1); no public service uses them.
  return ipv4Compatible ? "ipv4Compatible" : address.range();
}

const RANGE_WORDS: Readonly<Record<string, string>> = {
  unspecified: "an unspecified",
  broadcast: "a broadcast",
  multicast: "a multicast",
  linkLocal: "a link-local",
  loopback: "a loopback",
  carrierGradeNat: "a carrier-grade NAT (shared)",
  private: "a private",
  reserved: "a reserved",
  uniqueLocal: "a unique local (private)",
  ipv4Mapped: "an IPv4-mapped",
  ipv4Compatible: "an IPv4-compatible",
  deprecatedSiteLocal: "a site-local",
  rfc6145: "an IPv4-translated",
  rfc6052: "a NAT64",
  "6to4": "a 6to4",
  teredo: "a Teredo",
};

function describeRange(range: string): string {
  return RANGE_WORDS[range] ?? `a special-purpose (${range})`;
}
