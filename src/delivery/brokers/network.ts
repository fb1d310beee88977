/**
 * Where broker connections may go: the network guard of HTTP targets (`BUSBAR_ALLOW_TARGET_NETWORKS`,
 * http/network-guard.ts) holds broker targets too. Without it, a key allowed to add targets could have
 * Busbar connect to any host and port behind its firewall: the operator's own Redis on loopback (and
 * XADD into it), a RabbitMQ on the private network.
 *
 * A broker host that is a name is resolved here, the refused addresses dropped, and the client library
 * given a permitted address to connect to, with the name kept for TLS (SNI and the certificate check):
 * the library does not resolve the name again, so an answer that changes between the check and the
 * connect (DNS rebinding) cannot get past it. NATS resolves through the `dnsResolveFn` of its
 * transport instead ({@link guardedResolver}), which keeps the name for TLS itself. An IP literal is
 * checked as it is.
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
 * The address to connect to for `host` (a name, an IP literal or a bracketed IPv6 literal): the
 * literal itself, or the first permitted address the name resolves to; `host` as it is without a guard.
 * @throws {AddressRefusedError} when the guard refuses every address; the lookup's error when it fails.
 */
export async function permittedAddress(host: string, guard: BrokerGuard | undefined): Promise<string> {
  if (guard === undefined) return host;
  const literal = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (net.isIP(literal) !== 0) {
    const refused = checkHost(literal, { allowed: guard.allowed });
    if (refused !== undefined) throw refused;
    return literal;
  }
  return new Promise((resolve, reject) => {
    guard.lookup(literal, { all: false }, (error, address) => {
      if (error !== null) reject(error);
      else resolve(address as string);
    });
  });
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
 * The delivery error of a connection the guard refused (final: only a change of the configuration or
 * of the target helps), or undefined for any other error. `what` names the connect ("AMQP connect to …").
 */
export function refusedConnect(error: unknown, what: string): Error | undefined {
  let cause: unknown = error;
  // A library may wrap the lookup's error (NATS does); the refusal is found along the causes.
  for (let depth = 0; depth < 5 && cause instanceof Error; depth++) {
    if (cause instanceof AddressRefusedError)
      return brokerError("NO_PERMISSIONS", `${what}: ${cause.message}`, false, cause);
    cause = cause.cause;
  }
  return undefined;
}
