import { lookup as systemLookup } from 'node:dns/promises'
import { isProduction as isProductionEnv, unprocessable } from '@logistics/shared'
import ipaddr from 'ipaddr.js'
import type { DeliveryConfig } from '../../config'

/**
 * Where webhooks may go (SSRF protection). In every mode a webhook URL must be http(s) without
 * credentials. With NODE_ENV=production its host must also be, or resolve to, public unicast
 * addresses only (ipaddr.js classifies them: no loopback, private, unique-local, link-local,
 * CGNAT, multicast, unspecified, broadcast or reserved address, IPv4-mapped forms unwrapped first),
 * unless `WEBHOOK_ALLOWED_HOSTS` lists the host name or a range holding the address. The check runs
 * at registration and again before every send, and a send connects to the very address checked
 * (no second DNS lookup that a rebinding name could answer differently).
 */

type Address = ipaddr.IPv4 | ipaddr.IPv6

export type AllowedHosts = {
  /** Host names, lower-case, without a trailing dot. */
  names: string[]
  /** IPs (as /32 or /128) and CIDR ranges. */
  ranges: [Address, number][]
  /** Entries that are none of these (the configuration refuses them). */
  invalid: string[]
}

/** Resolves a host name to its IP addresses (all of them). */
export type Lookup = (hostname: string) => Promise<string[]>

export type DestinationPolicy = {
  /** NODE_ENV=production: refuse non-public destinations. Development posts anywhere (localhost). */
  production: boolean
  allowedHosts?: AllowedHosts
  /** DNS resolution; the system resolver by default (tests inject one). */
  lookup?: Lookup
  /** How long one resolution may take. */
  lookupTimeoutMs?: number
}

export const DEVELOPMENT_DESTINATIONS: DestinationPolicy = { production: false }

/** `NODE_ENV` compared case-insensitively (`Production`, ` PRODUCTION ` count too). */
/** `isProduction` of a NODE_ENV value. */
export const isProduction = (nodeEnv: string | undefined) => isProductionEnv({ NODE_ENV: nodeEnv })

/** The destination policy of a configuration: production rules when NODE_ENV says so, with WEBHOOK_ALLOWED_HOSTS. */
export const webhookDestinations = (config: Pick<DeliveryConfig, 'NODE_ENV' | 'WEBHOOK_ALLOWED_HOSTS'>): DestinationPolicy => ({
  production: isProductionEnv(config),
  allowedHosts: config.WEBHOOK_ALLOWED_HOSTS,
})

/** Why a destination is refused; these are the attempt log's `error` values for it. */
type RefusalCategory = 'destination-not-allowed' | 'dns-failure'

export type Destination =
  | {
      ok: true
      /** The URL to request: in production, the original with its host replaced by the checked address. */
      url: string
      /** The `host` header to send when the URL was pinned to an address. */
      headers: Record<string, string>
      /** SNI and certificate name for an https URL pinned to an address. */
      tls?: { serverName: string }
    }
  | { ok: false; category: RefusalCategory; reason: string }

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3')
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/

const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1')
const normalName = (hostname: string) => hostname.toLowerCase().replace(/\.$/, '')

/** The range name of a non-public address (`loopback`, `private`, …), or null for public unicast. */
function nonPublicRange(address: Address): string | null {
  const range = address.range()
  if (range !== 'unicast') return range
  // ipaddr.js calls every IPv6 address outside its special ranges unicast; only 2000::/3 is
  // allocated for global unicast (this also catches the deprecated IPv4-compatible ::a.b.c.d).
  if (address.kind() === 'ipv6' && !address.match(GLOBAL_UNICAST_V6)) return 'reserved'
  return null
}

const RANGE_LABELS: Record<string, string> = {
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'CGNAT',
  deprecatedSiteLocal: 'site-local',
  ipv4Mapped: 'IPv4-mapped',
}
const rangeLabel = (address: Address) => {
  const range = nonPublicRange(address) ?? 'unicast'
  return RANGE_LABELS[range] ?? range
}

/** Parses `WEBHOOK_ALLOWED_HOSTS`: comma-separated host names, IPs (v4 dotted quad, v6) and CIDR ranges. */
export function parseAllowedHosts(list: string): AllowedHosts {
  const allowed: AllowedHosts = { names: [], ranges: [], invalid: [] }
  for (const raw of list.split(',')) {
    const entry = raw.trim()
    if (entry === '') continue
    const ip = bare(entry)
    if (ipaddr.IPv4.isValidCIDRFourPartDecimal(ip) || (ip.includes(':') && ipaddr.IPv6.isValidCIDR(ip))) {
      const [address, bits] = ipaddr.parseCIDR(ip)
      // A /0 (0.0.0.0/0, ::/0) allows every address: that is switching the protection off, not an exception.
      if (bits === 0) allowed.invalid.push(`${entry} (a /0 range allows every address)`)
      else allowed.ranges.push([address, bits])
    } else if (ipaddr.IPv4.isValidFourPartDecimal(ip) || (ip.includes(':') && ipaddr.IPv6.isValid(ip))) {
      const address = ipaddr.process(ip)
      allowed.ranges.push([address, address.kind() === 'ipv4' ? 32 : 128])
    } else if (HOST_NAME.test(normalName(entry)) && isCanonicalHostName(normalName(entry))) {
      allowed.names.push(normalName(entry))
    } else allowed.invalid.push(entry)
  }
  return allowed
}

/** A host name a URL keeps as it is (not `127.1` or `0x7f000001`, which URLs turn into IPs). */
function isCanonicalHostName(name: string) {
  try {
    const hostname = new URL(`http://${name}/`).hostname
    return hostname === name && !ipaddr.isValid(hostname)
  } catch {
    return false
  }
}

function isAllowedAddress(address: Address, allowed: AllowedHosts | undefined) {
  if (nonPublicRange(address) === null) return true
  return (allowed?.ranges ?? []).some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits))
}

async function resolve(hostname: string, policy: DestinationPolicy): Promise<string[]> {
  const lookup = policy.lookup ?? (async (h: string) => (await systemLookup(h, { all: true, verbatim: true })).map((a) => a.address))
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      lookup(hostname),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`DNS lookup of ${hostname} timed out`)), policy.lookupTimeoutMs ?? 5_000)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

const refused = (category: RefusalCategory, reason: string): Destination => ({ ok: false, category, reason })

/**
 * Checks a webhook URL against the policy and says where to send it. Never throws: a refusal
 * carries a category (for the attempt log) and a reason (for the 422 and the server log). The
 * reason names the range of an IP given in the URL, but not the addresses a name resolved to.
 */
export async function checkDestination(rawUrl: string, policy: DestinationPolicy): Promise<Destination> {
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    return refused('destination-not-allowed', 'url must be an absolute URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refused('destination-not-allowed', 'url must be http or https')
  if (url.username !== '' || url.password !== '') return refused('destination-not-allowed', 'url must not contain credentials')
  if (!policy.production) return { ok: true, url: url.href, headers: {} }

  // URL parsing already canonicalised IPv4 spellings (0x7f000001, 2130706433, 127.1 → 127.0.0.1).
  const host = bare(url.hostname)
  if (ipaddr.isValid(host)) {
    const address = ipaddr.process(host)
    if (isAllowedAddress(address, policy.allowedHosts)) return { ok: true, url: url.href, headers: {} }
    return refused(
      'destination-not-allowed',
      `url host ${url.hostname} is a non-public address (${rangeLabel(address)}); webhooks may not target it`,
    )
  }
  const name = normalName(host)
  if (policy.allowedHosts?.names.includes(name)) return { ok: true, url: url.href, headers: {} }

  let addresses: Address[]
  try {
    addresses = (await resolve(name, policy)).map((a) => ipaddr.process(a))
  } catch {
    addresses = []
  }
  if (addresses.length === 0) return refused('dns-failure', `url host ${url.hostname} does not resolve`)
  if (!addresses.every((a) => isAllowedAddress(a, policy.allowedHosts)))
    return refused(
      'destination-not-allowed',
      `url host ${url.hostname} resolves to a non-public address (loopback, private, link-local or otherwise reserved); webhooks may not target it`,
    )

  // Pin the request to the address just checked; the host header and TLS name stay the URL's.
  const pinned = new URL(url.href)
  const [first] = addresses
  pinned.hostname = first!.kind() === 'ipv6' ? `[${first!.toString()}]` : first!.toString()
  return {
    ok: true,
    url: pinned.href,
    headers: { host: url.host },
    ...(url.protocol === 'https:' ? { tls: { serverName: name } } : {}),
  }
}

/** Registration: answers 422 (field `url`) when the URL may not receive webhooks. */
export async function assertAllowedDestination(url: string, policy: DestinationPolicy): Promise<void> {
  const destination = await checkDestination(url, policy)
  if (!destination.ok) throw unprocessable([{ path: 'url', message: destination.reason }], 'The webhook url is not an allowed destination')
}

/**
 * The attempt log's category for a failed request (the raw message, which could tell a client
 * which internal ports are open, goes to the server log only).
 */
export function sendErrorCategory(error: unknown): string {
  const e = error as { name?: string; code?: string } | null
  const code = String(e?.code ?? '')
  if (e?.name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ConnectionTimeout') return 'timeout'
  if (code === 'ECONNREFUSED' || code === 'ConnectionRefused') return 'connection-refused'
  if (/^(ENOTFOUND|EAI_|DNS)/.test(code)) return 'dns-failure'
  if (/TLS|SSL|CERT|EPROTO|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO/.test(code)) return 'tls-error'
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ConnectionClosed') return 'connection-closed'
  return 'connection-failed'
}
