/**
 * Webhook URLs are no SSRF hole: with NODE_ENV=production, registration refuses hosts that are or
 * resolve to non-public addresses (unless allow-listed), every send checks again and connects to
 * the checked address, redirects are never followed, and the attempt log shows error categories
 * instead of raw socket messages.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { silentLogger } from '@logistics/shared'
import { callApp } from '@logistics/testkit/http'
import { createApp } from '../src/app'
import { webhookEvents, webhookSubscriptions } from '../src/db/schema'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { checkDestination, type DestinationPolicy, isProduction, type Lookup, parseAllowedHosts } from '../src/modules/webhooks/destination'
import { createDispatcher } from '../src/modules/webhooks/dispatcher'
import { clearDeliveries, type DeliveryTestContext, deliveryBody, KEY_A, setupDelivery, testConfig } from './helpers'

/** A made-up DNS: names under .test resolve as listed here, anything else does not exist. */
const zone: Record<string, string[]> = {
  'public.test': ['93.184.216.34'],
  'public6.test': ['2606:4700::1111'],
  'internal.test': ['10.1.2.3'],
  'cluster.test': ['172.20.0.9'],
  'metadata.test': ['169.254.169.254'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'mixed.test': ['93.184.216.34', '127.0.0.1'],
  'hook.test': ['127.0.0.1'],
}
let lookups: string[] = []
const lookup: Lookup = async (name) => {
  lookups.push(name)
  const found = zone[name]
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
  return found
}
const production: DestinationPolicy = { production: true, lookup }

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
}, 60_000)
afterAll(() => t.close())
beforeEach(async () => {
  await clearDeliveries(t.db)
  lookups = []
})
let stops: (() => unknown)[] = []
afterEach(() => {
  for (const s of stops) s()
  stops = []
})

/** The delivery app on the test database with the given webhook destination policy. */
function appWith(policy: DestinationPolicy) {
  const app = createApp({ db: t.db, config: testConfig(), logger: silentLogger, webhookDestinations: policy })
  return (url: string) => callApp(app, 'POST', '/webhooks', { headers: { authorization: `Bearer ${KEY_A}` }, body: { url } })
}

/** A local receiver answering `status` (and `location` when given), recording every request's host header. */
function receiver(status = 204, location?: string) {
  const hosts: string[] = []
  const server = Bun.serve({
    port: 0,
    async fetch(req) {
      hosts.push(req.headers.get('host') ?? '')
      await req.text()
      return new Response(null, { status, headers: location ? { location } : {} })
    },
  })
  stops.push(() => server.stop(true))
  return { port: server.port, url: `http://127.0.0.1:${server.port}/hook`, hosts }
}

/** Registers `url` in development mode (allowed there) and makes one status-change event for it. */
async function subscribeWithEvent(url: string) {
  const hook = await t.call('POST', '/webhooks', { body: { url } })
  expect(hook.status).toBe(201)
  expect((await t.call('POST', '/deliveries', { body: deliveryBody() })).status).toBe(201)
  await advanceDeliveries(t.db, { now: new Date() })
  return hook.json as { id: string }
}

async function attemptsOf(subscriptionId: string) {
  const res = await t.call('GET', `/webhooks/${subscriptionId}/attempts?limit=100`)
  expect(res.status).toBe(200)
  return res.json.data as { status_code: number | null; error: string | null }[]
}

describe('registration with NODE_ENV=production', () => {
  const refused = [
    'http://127.0.0.1:8080/hook',
    'http://127.1/hook',
    'http://0x7f000001/hook',
    'http://2130706433/hook',
    'http://017700000001/hook',
    'http://[::1]:3000/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:7f00:1]/hook',
    'http://[::ffff:169.254.169.254]/latest/meta-data/',
    'http://[::127.0.0.1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/hook',
    'http://10.0.0.1/hook',
    'http://172.16.5.4/hook',
    'http://192.168.0.10/hook',
    'http://[fd12:3456::1]/hook',
    'http://100.64.1.1/hook',
    'http://224.0.0.1/hook',
    'http://[ff02::1]/hook',
    'http://0.0.0.0:3001/hook',
    'http://[::]/hook',
    'http://255.255.255.255/hook',
    'http://240.0.0.1/hook',
    'http://192.0.2.10/hook',
    'http://[2001:db8::1]/hook',
    'http://[64:ff9b::a00:1]/hook',
    // Host names resolving (DNS) to such addresses, one of several being enough.
    'http://localhost:3000/hook',
    'http://LocalHost./hook',
    'http://internal.test/hook',
    'http://metadata.test/hook',
    'http://mapped.test/hook',
    'http://mixed.test/hook',
    // A name that does not resolve cannot be checked.
    'http://nowhere.test/hook',
  ]
  for (const url of refused)
    test(`refuses ${url} with 422 naming the url field, and stores nothing`, async () => {
      const res = await appWith(production)(url)
      expect(res.status).toBe(422)
      expect(res.headers.get('content-type')).toStartWith('application/problem+json')
      expect(res.json.errors).toHaveLength(1)
      expect(res.json.errors[0].path).toBe('url')
      expect(res.json.errors[0].message).toMatch(/non-public address|does not resolve/)
      expect(await t.db.$count(webhookSubscriptions)).toBe(0)
    })

  test('the field error names the range of a literal address, but not what a name resolved to', async () => {
    const metadata = await appWith(production)('http://169.254.169.254/')
    expect(metadata.json.errors[0].message).toContain('link-local')
    const internal = await appWith(production)('http://internal.test/')
    expect(internal.json.errors[0].message).not.toContain('10.1.2.3')
  })

  test('accepts public destinations: literal IPv4 / IPv6 and names resolving to public addresses only', async () => {
    const register = appWith(production)
    for (const url of [
      'https://93.184.216.34/hook',
      'https://[2606:4700::1111]/hook',
      'https://public.test/hook',
      'https://public6.test:8443/hook',
    ])
      expect((await register(url)).status, url).toBe(201)
  })

  test('accepts hosts listed in WEBHOOK_ALLOWED_HOSTS: a host name, an IP, a CIDR range (also for resolved names)', async () => {
    const register = appWith({ ...production, allowedHosts: parseAllowedHosts('ecommerce, 10.1.2.3, 172.16.0.0/12, fd00::/8') })
    lookups = []
    // A listed name is not even resolved (compose's `ecommerce` is private by nature).
    expect((await register('http://ecommerce:3000/webhooks/delivery')).status).toBe(201)
    expect((await register('http://ECOMMERCE.:3000/other')).status).toBe(201)
    expect(lookups).toEqual([])
    expect((await register('http://10.1.2.3/hook')).status).toBe(201)
    expect((await register('http://internal.test/hook')).status).toBe(201) // resolves to 10.1.2.3
    expect((await register('http://172.20.1.1/hook')).status).toBe(201)
    expect((await register('http://cluster.test/hook')).status).toBe(201) // resolves to 172.20.0.9
    expect((await register('http://[fd00::5]/hook')).status).toBe(201)
    // ...and nothing else.
    expect((await register('http://10.1.2.4/hook')).status).toBe(422)
    expect((await register('http://127.0.0.1/hook')).status).toBe(422)
    expect((await register('http://ecommerce.evil.test/hook')).status).toBe(422)
    expect((await register('http://metadata.test/hook')).status).toBe(422)
  })
})

describe('registration in every mode', () => {
  test('refuses credentials in the URL and non-http(s) schemes, in development too', async () => {
    for (const policy of [{ production: false }, production]) {
      const register = appWith(policy)
      for (const url of [
        'http://user:pass@example.test/hook',
        'https://token@example.test/hook',
        'ftp://example.test/',
        'file:///etc/passwd',
        'gopher://127.0.0.1:6379/_INFO',
      ]) {
        const res = await register(url)
        expect(res.status, url).toBe(422)
        expect(res.json.errors[0].path).toBe('url')
      }
    }
    expect(await t.db.$count(webhookSubscriptions)).toBe(0)
  })

  test('development keeps accepting localhost and private addresses (tests and `bun run dev` rely on it)', async () => {
    const register = appWith({ production: false })
    for (const url of ['http://localhost:3000/webhooks/delivery', 'http://127.0.0.1:9/hook', 'http://10.0.0.1/hook'])
      expect((await register(url)).status, url).toBe(201)
  })

  test('NODE_ENV is compared case-insensitively', () => {
    for (const value of ['production', 'Production', 'PRODUCTION', ' production ']) expect(isProduction(value)).toBe(true)
    for (const value of [undefined, '', 'development', 'test', 'prod']) expect(isProduction(value)).toBe(false)
  })
})

describe('sending', () => {
  test('re-checks the destination at every send: a refused one is a failed attempt with a category, and no request', async () => {
    // Registered while allowed (development, or before the name pointed inside): localhost.
    const r = receiver()
    const sub = await subscribeWithEvent(`http://localhost:${r.port}/hook`)
    const dispatcher = createDispatcher(t.db, silentLogger, { destinations: { production: true } })
    expect(await dispatcher.runOnce()).toEqual({ sent: 1 })
    expect(r.hosts).toHaveLength(0)
    expect(await attemptsOf(sub.id)).toEqual([expect.objectContaining({ status_code: null, error: 'destination-not-allowed' })])
    const [event] = await t.db.select().from(webhookEvents)
    expect(event!.state).toBe('pending') // retried later: the DNS (or the allow-list) may change back
  })

  test('a name that resolved to a public address at registration and to loopback now is not sent to', async () => {
    const r = receiver()
    let answer = ['93.184.216.34']
    const rebinding: DestinationPolicy = { production: true, lookup: async () => answer }
    const hook = await appWith(rebinding)(`http://rebind.test:${r.port}/hook`)
    expect(hook.status).toBe(201)
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    await advanceDeliveries(t.db, { now: new Date() })
    answer = ['127.0.0.1']
    await createDispatcher(t.db, silentLogger, { destinations: rebinding }).runOnce()
    expect(r.hosts).toHaveLength(0)
    expect((await attemptsOf(hook.json.id))[0]!.error).toBe('destination-not-allowed')
  })

  test('connects to the address it checked (no second DNS lookup), keeping the host header', async () => {
    // `hook.test` exists only in the checked lookup: the request can only arrive if it went to that address.
    const r = receiver()
    const policy: DestinationPolicy = { ...production, allowedHosts: parseAllowedHosts('127.0.0.0/8') }
    const hook = await appWith(policy)(`http://hook.test:${r.port}/hook`)
    expect(hook.status).toBe(201)
    // One event: the new delivery's first status.
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    lookups = []
    await createDispatcher(t.db, silentLogger, { destinations: policy }).runOnce()
    expect(lookups).toEqual(['hook.test'])
    expect(r.hosts).toEqual([`hook.test:${r.port}`])
    expect(await attemptsOf(hook.json.id)).toEqual([expect.objectContaining({ status_code: 204, error: null })])
    // An https URL is pinned the same way, with the name kept for SNI and the certificate check.
    expect(await checkDestination('https://public.test:8443/a?b=1', production)).toEqual({
      ok: true,
      url: 'https://93.184.216.34:8443/a?b=1',
      headers: { host: 'public.test:8443' },
      tls: { serverName: 'public.test' },
    })
  })

  test('never follows a redirect: a 3xx is a failed attempt and its target sees no request', async () => {
    const target = receiver()
    const redirecting = receiver(302, target.url)
    const sub = await subscribeWithEvent(redirecting.url)
    await createDispatcher(t.db, silentLogger).runOnce()
    expect(redirecting.hosts).toHaveLength(1)
    expect(target.hosts).toHaveLength(0)
    expect(await attemptsOf(sub.id)).toEqual([expect.objectContaining({ status_code: 302, error: 'redirect-not-followed' })])
    const [event] = await t.db.select().from(webhookEvents)
    expect(event!.state).toBe('pending')
  })

  test('the attempt log shows error categories, not socket messages', async () => {
    const closed = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const closedPort = closed.port
    closed.stop(true)
    const plain = receiver()
    const cases: [string, string][] = [
      [`http://127.0.0.1:${closedPort}/hook`, 'connection-refused'],
      [`https://127.0.0.1:${plain.port}/hook`, 'tls-error'], // not TLS on that port
      ['http://nowhere.invalid/hook', 'dns-failure'],
    ]
    const subs = []
    for (const [url] of cases) subs.push(await subscribeWithEvent(url))
    // Sent in development mode: the URLs reach the network as they are.
    await createDispatcher(t.db, silentLogger, { timeoutMs: 5_000 }).runOnce()
    for (const [i, [url, category]] of cases.entries()) {
      const attempts = await attemptsOf(subs[i]!.id)
      expect(
        attempts.map((a) => a.error),
        url,
      ).toContain(category)
      for (const a of attempts) expect(a.error).toMatch(/^[a-z-]+$|^HTTP \d{3}$/)
    }
  })
})
