/**
 * SSRF guard: which resolved addresses the broker may connect to. Uses
 * ipaddr.js's range classification; only plain public unicast passes.
 */
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import * as ipaddr from "ipaddr.js";

/** Cloud metadata endpoints, named for a clear refusal (they are link-local / unique-local anyway). */
const METADATA_ADDRESSES = new Set(["169.254.169.254", "fd00:ec2::254", "169.254.170.2"]);

export interface AddressVerdict {
    allowed: boolean;
    /** ipaddr.js range name (or "metadata", "invalid") — why it was refused. */
    range: string;
}

/**
 * Refuses private, loopback, link-local, unique-local, CGNAT, multicast,
 * broadcast, reserved/documentation, unspecified and metadata addresses. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it
 * maps; the other IPv4-embedding forms (NAT64, 6to4, Teredo) are refused.
 */
export function classifyAddress(address: string): AddressVerdict {
    const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
    if (!ipaddr.isValid(bare)) return { allowed: false, range: "invalid" };
    let parsed = ipaddr.parse(bare);
    if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    const normal = parsed.toString();
    if (METADATA_ADDRESSES.has(normal) || METADATA_ADDRESSES.has(bare.toLowerCase())) return { allowed: false, range: "metadata" };
    const range = parsed.range();
    return { allowed: range === "unicast", range };
}

/** The default guard: public unicast only. Tests inject their own to allow 127.0.0.1 explicitly. */
export function defaultAddressAllowed(address: string): boolean {
    return classifyAddress(address).allowed;
}

export interface ResolvedAddress {
    address: string;
    family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** System resolver (getaddrinfo), every address. */
export const systemResolver: Resolver = async (hostname) => {
    const bare = hostname.replace(/^\[|\]$/g, "");
    const literal = isIP(bare);
    if (literal) return [{ address: bare, family: literal as 4 | 6 }];
    const all = await dns.lookup(hostname, { all: true, verbatim: true });
    return all.map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
};
