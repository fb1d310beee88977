/**
 * Where broker connections may go: the network guard of HTTP targets (`BUSBAR_ALLOW_TARGET_NETWORKS`,
 * http/network-guard.ts) holds broker targets too. Without it, a key allowed to add targets could have
 * Busbar connect to any host and port behind its firewall: the operator's own Redis on loopback (and
 * XADD into it), a RabbitMQ on the private network.
 *
 * A broker host that is a name is resolved here, the refused addresses dropped, and the client library
 * given the permitted addresses to connect to, one after another ({@link connectToPermitted}), with
 * the name kept for TLS (SNI and the certificate check): the library does not resolve the name again,
 * so an answer that changes between the check and the connect (DNS rebinding) cannot get past it.
 * NATS resolves through the `dnsResolveFn` of its transport instead ({@link guardedResolver}), which
 * keeps the name for TLS itself, and each of its dials is checked ({@link dialRefusal}). An IP
 * literal is checked as it is.
 */
import dns from "node:dns";
import net from "node:net";
import {
  AddressRefusedError,
  checkHost,
  createGuardedLookup,
  type AllowedNetworks,
  type LookupFunction,
} from "../http/index.js";
import { brokerError } from "./errors.js";

/** The guard of a node's broker connections. */
export interface BrokerGuard {
  readonly allowed: AllowedNetworks;
  /** Resolves a name to its permitted addresses (lookups of a name at the same time shared). */
  readonly lookup: LookupFunction;
}

/** The guard over `allowed` (the networks listed in BUSBAR_ALLOW_TARGET_NETWORKS). */
export function brokerGuard(allowed: AllowedNetworks, resolve: typeof dns.lookup = dns.lookup): BrokerGuard {
  return { allowed, lookup: createGuardedLookup({ allowed }, resolve) };
}

/**
 * The addresses to connect to for `host` (a name, an IP literal or a bracketed IPv6 literal): the
 * literal itself, or the permitted addresses the name resolves to, in the resolver's order; `host` as
 * it is without a guard.
 * @throws {AddressRefusedError} when the guard refuses every address; the lookup's error when it fails.
 */
export async function permittedAddresses(host: string, guard: BrokerGuard | undefined): Promise<string[]> {
  if (guard === undefined) return [host];
  const literal = unbracketed(host);
  if (net.isIP(literal) === 0) return guardedResolver(guard)(literal);
  const refused = checkHost(literal, { allowed: guard.allowed });
  if (refused !== undefined) throw refused;
  return [literal];
}

/** `host` without the brackets of a bracketed IPv6 literal. */
function unbracketed(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** The first of `error` and its causes (a library may wrap an error, as NATS does) that `is` accepts. */
function causeOf<E extends Error>(error: unknown, is: (cause: Error) => cause is E): E | undefined {
  let cause: unknown = error;
  for (let depth = 0; depth < 5 && cause instanceof Error; depth++) {
    if (is(cause)) return cause;
    cause = cause.cause;
  }
  return undefined;
}

/** Socket errors after which the next address of a name is worth trying (as net.connect tries them). */
const UNREACHABLE = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ETIMEDOUT"]);

function unreachable(error: unknown): boolean {
  const withCode = (cause: Error): cause is Error & { code: string } => {
    const { code } = cause as { code?: unknown };
    return typeof code === "string" && UNREACHABLE.has(code);
  };
  return causeOf(error, withCode) !== undefined;
}

/**
 * Connects with `connect` to each of `host`'s permitted addresses in turn ({@link permittedAddresses})
 * until one answers: an address refused or unreachable gives way to the next (a name resolving to
 * `::1` and 127.0.0.1 reaches a broker listening on IPv4 only), any other failure ends it. Unlike
 * net.connect's (250 ms an address, racing), each address has the whole connect timeout: one that
 * drops packets silently uses it up, and the next is never tried.
 */
export async function connectToPermitted<T>(
  host: string,
  guard: BrokerGuard | undefined,
  connect: (address: string) => Promise<T>,
): Promise<T> {
  const addresses = await permittedAddresses(host, guard);
  for (let i = 0; ; i++) {
    try {
      return await connect(addresses[i] as string);
    } catch (error) {
      if (i + 1 >= addresses.length || !unreachable(error)) throw error;
    }
  }
}

/**
 * A `dnsResolveFn` for the NATS transport: a name's permitted addresses (the client connects to each
 * in turn, with the name for TLS).
 * @throws {AddressRefusedError} when the guard refuses every address.
 */
export function guardedResolver(guard: BrokerGuard): (host: string) => Promise<string[]> {
  return (host) =>
    new Promise((resolve, reject) => {
      guard.lookup(host, { all: true }, (error, addresses) => {
        if (error !== null) reject(error);
        else resolve((addresses as unknown as dns.LookupAddress[]).map((a) => a.address));
      });
    });
}

/**
 * Why the NATS transport may not dial `host` (undefined when it may): the client dials the addresses
 * the guarded resolver gave for a name, and IP literals as it parses them itself, which is not always
 * as the guard parsed the target's host (`127.0x.0.1` is a name to getaddrinfo, 127.0.0.1 to the
 * client's URL parser), and the servers a server gossips (`connect_urls`). So every dial is checked:
 * an address against the guard, and a name (which the resolver would have turned into addresses) refused.
 */
export function dialRefusal(host: string, guard: BrokerGuard): AddressRefusedError | undefined {
  const literal = unbracketed(host);
  if (net.isIP(literal) === 0) {
    return new AddressRefusedError(host, host, "a name the client did not resolve through the network guard");
  }
  return checkHost(literal, { allowed: guard.allowed });
}

/**
 * The delivery error of a connection the guard refused (final: only a change of the configuration or
 * of the target helps), or undefined for any other error. `what` names the connect ("AMQP connect to …").
 */
export function refusedConnect(error: unknown, what: string): Error | undefined {
  const refused = causeOf(
    error,
    (cause): cause is AddressRefusedError => cause instanceof AddressRefusedError,
  );
  return refused === undefined
    ? undefined
    : brokerError("NO_PERMISSIONS", `${what}: ${refused.message}`, false, refused);
}
