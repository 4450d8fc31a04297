/**
 * The client address of a request, for limits per client (ecommerce's login throttle, the delivery
 * service's public tracking page): the socket address, or with TRUST_PROXY_HOPS=n the address the
 * n-th proxy from us saw (the n-th entry of X-Forwarded-For from the right; the ones left of it are
 * the client's to forge). IPv4-mapped IPv6 is unwrapped; an IPv6 address counts as its /64.
 * Undefined when neither is known (a request handed to `app.handle` without a server).
 */
export function clientAddress(
  config: { TRUST_PROXY_HOPS: number },
  request: Request,
  server: { requestIP(request: Request): { address: string } | null } | null | undefined,
): string | undefined {
  let address = server?.requestIP(request)?.address
  if (config.TRUST_PROXY_HOPS > 0) {
    const hops = (request.headers.get('x-forwarded-for') ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean)
    const forwarded = hops[hops.length - config.TRUST_PROXY_HOPS]
    if (forwarded) address = forwarded
  }
  return address ? normalizeAddress(address) : undefined
}

export function normalizeAddress(address: string): string {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '')
  const mapped = a.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/)
  if (mapped) return mapped[1]!
  if (!a.includes(':')) return a
  const [head = '', tail] = a.split('::', 2) as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}
