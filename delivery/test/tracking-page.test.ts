import { afterAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { type DeliveryStatus, silentLogger } from '@logistics/shared'
import { serveApp } from '@logistics/shared/http/serve'
import { callApp } from '@logistics/testkit/http'
import { openApiRoutes } from '@logistics/testkit/openapi-routes'
import { eq } from 'drizzle-orm'
import { createApp } from '../src/app'
import { deliveries, trackingEvents } from '../src/db/schema'
import { escapeHtml, html } from '../src/modules/tracking-page/html'
import { createRateLimiter, TRACKING_RATE_LIMIT } from '../src/modules/tracking-page/rate-limit'
import { pollSeconds } from '../src/modules/tracking-page/routes'
import { normalizeTrackingNumber } from '../src/modules/tracking-page/service'
import { trackingView } from '../src/modules/tracking-page/view'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { type DeliveryTestContext, deliveryBody, setupDelivery, testConfig } from './helpers'

/**
 * The public tracking page, `GET /track/{tracking_number}`, and the JSON it polls: what a person
 * sees, what nobody may see (personal data), the headers, the 404 that says nothing, the rate limit
 * per client address, the live update, and `tracking_url` in every delivery answer. (The page in a
 * real browser: tracking-page.browser.test.ts.)
 */

const ctx: DeliveryTestContext = await setupDelivery()
afterAll(() => ctx.close())

const PUBLIC_URL = 'https://parcels.example.test/base'
/** The service behind one proxy (X-Forwarded-For names the client), so each test has addresses of its own. */
const app = createApp({ db: ctx.db, config: testConfig({ TRUST_PROXY_HOPS: '1', PUBLIC_URL }), logger: silentLogger })

let lastAddress = 0
/** A client address no other test used (its own full bucket). */
const newAddress = () => `198.51.${Math.floor(++lastAddress / 250)}.${lastAddress % 250}`

const get = (path: string, address: string, headers: Record<string, string> = {}) =>
  callApp(app, 'GET', path, { headers: { 'x-forwarded-for': address, ...headers } })

async function newParcel() {
  const body = deliveryBody()
  const created = await ctx.call('POST', '/deliveries', { body })
  if (created.status !== 201) throw new Error(`fixture: ${created.status} ${created.text}`)
  return { body, trackingNumber: created.json.tracking_number as string }
}

/** The history entries of a page, top to bottom: [label, datetime]. */
const historyOf = (page: string) =>
  [...page.matchAll(/<li class="event">.*?<span class="event-label">([^<]+)<\/span><time datetime="([^"]+)">/g)].map((m) => [m[1], m[2]])

/** The progress line of a page: [label, state], and the step marked current. */
const stepsOf = (page: string) =>
  [...page.matchAll(/<li class="step is-([a-z]+)"( aria-current="step")?>.*?<span class="step-label">([^<]+)<\/span>/g)].map((m) => [
    m[3],
    m[1],
    m[2] ? 'current' : '',
  ])

/** Puts a parcel into `status` with the history a tick would have written (set-up only). */
async function moveTo(trackingNumber: string, path: DeliveryStatus[]) {
  const [row] = await ctx.db.select().from(deliveries).where(eq(deliveries.trackingNumber, trackingNumber))
  const start = Date.now()
  for (const [i, status] of path.entries())
    await ctx.db.insert(trackingEvents).values({ deliveryId: row!.id, status, createdAt: new Date(start + (i + 1) * 1000) })
  await ctx.db
    .update(deliveries)
    .set({ status: path.at(-1)! })
    .where(eq(deliveries.id, row!.id))
}

describe('what a person sees', () => {
  test('the tracking number, the status in words, the progress line and the dated history, newest first', async () => {
    const { trackingNumber } = await newParcel()
    const first = await get(`/track/${trackingNumber}`, newAddress())
    expect(first.status).toBe(200)
    expect(first.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(first.text).toStartWith('<!doctype html>')
    expect(first.text).toContain(`<h1>Parcel <span class="tn">${trackingNumber}</span></h1>`)
    expect(first.text).toContain(`<title>Ready for pick-up · Parcel ${trackingNumber}</title>`)
    expect(first.text).toMatch(
      /<div id="status" class="status is-ready-for-pick-up" aria-live="polite"[^>]*>\s*<p class="status-title">.*Ready for pick-up/,
    )
    expect(historyOf(first.text).map(([label]) => label)).toEqual(['Ready for pick-up'])
    expect(stepsOf(first.text)).toEqual([
      ['Ready for pick-up', 'current', 'current'],
      ['At the depot', 'todo', ''],
      ['Out for delivery', 'todo', ''],
      ['Delivered', 'todo', ''],
    ])

    await moveTo(trackingNumber, ['IN_ORIGIN', 'IN_ROUTE_OF_DELIVERY', 'NOT_DELIVERED', 'IN_ROUTE_OF_DELIVERY', 'DELIVERED'])
    const later = await get(`/track/${trackingNumber}`, newAddress())
    const history = historyOf(later.text)
    expect(history.map(([label]) => label)).toEqual([
      'Delivered',
      'Out for delivery',
      'Delivery attempt failed',
      'Out for delivery',
      'At the depot',
      'Ready for pick-up',
    ])
    // newest first, each as an ISO date in <time datetime> with readable UTC text inside
    const dates = history.map(([, date]) => date!)
    expect([...dates].sort().reverse()).toEqual(dates)
    expect(later.text).toContain(`<time datetime="${dates[0]}">${dates[0]!.slice(0, 10)} ${dates[0]!.slice(11, 16)} UTC</time>`)
    expect(later.text).toMatch(/<ol id="history" class="history" reversed>/)
    expect(stepsOf(later.text)).toEqual([
      ['Ready for pick-up', 'done', ''],
      ['At the depot', 'done', ''],
      ['Out for delivery', 'done', ''],
      ['Delivered', 'done', 'current'],
    ])
    expect(later.text).toContain('Failed delivery attempts: 1')
    expect(later.text).toContain('data-final="true"')
  })

  test('a failed delivery attempt is shown as such, in words and with its own symbol, not by colour alone', async () => {
    const { trackingNumber } = await newParcel()
    await moveTo(trackingNumber, ['IN_ORIGIN', 'IN_ROUTE_OF_DELIVERY', 'NOT_DELIVERED'])
    const page = await get(`/track/${trackingNumber}`, newAddress())
    expect(page.text).toContain('<span>Delivery attempt failed</span>')
    expect(page.text).toContain('Failed delivery attempts: 1')
    expect(stepsOf(page.text)[2]).toEqual(['Out for delivery', 'failed', 'current'])
    expect(page.text).toMatch(
      /<li class="step is-failed" aria-current="step"><span class="mark" aria-hidden="true">✕<\/span><span class="step-label">Out for delivery<\/span><span class="step-state">attempt failed, going out again<\/span>/,
    )
    expect(page.text).toContain('data-final="false"')
  })

  test('letter case, blanks and the look-alike letters of Crockford base32 find the same parcel', async () => {
    const { trackingNumber } = await newParcel()
    const lookAlike = `trk-${trackingNumber.slice(4).replace(/0/g, 'o').replace(/1/g, 'l').toLowerCase()}`
    for (const typed of [trackingNumber.toLowerCase(), ` ${trackingNumber} `, lookAlike]) {
      const page = await get(`/track/${encodeURIComponent(typed)}`, newAddress())
      expect({ typed, status: page.status }).toEqual({ typed, status: 200 })
      expect(page.text).toContain(`<span class="tn">${trackingNumber}</span>`)
    }
    expect(normalizeTrackingNumber('TRK-0O1I-L234-56AB')).toBe('TRK-0011-1234-56AB')
    expect(normalizeTrackingNumber('TRK-UUUU-0000-0000')).toBeNull()
    expect(normalizeTrackingNumber('TRK-0000-0000-000')).toBeNull()
    expect(normalizeTrackingNumber('TRK-0000-0000-000\u0000')).toBeNull()
    expect(normalizeTrackingNumber(null)).toBeNull()
    expect(normalizeTrackingNumber(`TRK-0000-0000-0000${' '.repeat(100)}`)).toBeNull()
  })

  test('nothing personal: no name, address, product, order id, client or internal id in the page or its JSON', async () => {
    const { body, trackingNumber } = await newParcel()
    await advanceDeliveries(ctx.db)
    const [row] = await ctx.db.select().from(deliveries).where(eq(deliveries.trackingNumber, trackingNumber))
    const secrets = [
      body.destination.name,
      body.destination.address,
      body.origin.address,
      body.order.foreign_order_id,
      body.order.products[0]!.name,
      body.order.products[0]!.sku,
      row!.clientId,
      row!.id,
      row!.requestHash,
    ]
    const address = newAddress()
    const answers = [await get(`/track/${trackingNumber}`, address), await get(`/track/${trackingNumber}/status`, address)]
    for (const answer of answers) {
      expect(answer.status).toBe(200)
      expect(secrets.filter((s) => answer.text.includes(s) || answer.text.includes(escapeHtml(s)))).toEqual([])
    }
    expect(Object.keys(answers[1]!.json).sort()).toEqual(['status', 'tracking', 'tracking_number'])
    expect(answers[1]!.json.tracking.map((e: object) => Object.keys(e).sort())).toEqual([
      ['date', 'status'],
      ['date', 'status'],
    ])
  })
})

describe('headers', () => {
  test('a strict CSP: nothing by default, the one script by a fresh nonce, the style by its hash; no referrer, no index, no frame, no store', async () => {
    const { trackingNumber } = await newParcel()
    const address = newAddress()
    const [one, two] = [await get(`/track/${trackingNumber}`, address), await get(`/track/${trackingNumber}`, address)]
    const nonces = [one, two].map((answer) => {
      const csp = answer.headers.get('content-security-policy')!
      const directives = Object.fromEntries(
        csp
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([name, ...values]) => [name, values]),
      )
      expect(directives['default-src']).toEqual(["'none'"])
      expect(directives['connect-src']).toEqual(["'self'"])
      expect(directives['frame-ancestors']).toEqual(["'none'"])
      expect(directives['base-uri']).toEqual(["'none'"])
      expect(directives['require-trusted-types-for']).toEqual(["'script'"])
      expect(csp).not.toContain('unsafe')
      const nonce = /^'nonce-([A-Za-z0-9+/=]+)'$/.exec(directives['script-src']![0]!)![1]!
      expect(Buffer.from(nonce, 'base64').length).toBeGreaterThanOrEqual(16)
      // the page's only script carries it; its only style matches the hash; no inline style attribute or handler
      expect([...answer.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([`<script nonce="${nonce}">`])
      const style = /<style>([\s\S]*?)<\/style>/.exec(answer.text)![1]!
      expect(directives['style-src']).toEqual([`'sha256-${createHash('sha256').update(style).digest('base64')}'`])
      expect(answer.text).not.toMatch(/\sstyle=|\son[a-z]+=/i)
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer')
      expect(answer.headers.get('x-robots-tag')).toContain('noindex')
      expect(answer.headers.get('x-frame-options')).toBe('DENY')
      expect(answer.headers.get('cache-control')).toBe('no-store')
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff')
      expect(answer.text).toContain('<meta name="robots" content="noindex, nofollow">')
      return nonce
    })
    expect(nonces[0]).not.toBe(nonces[1])

    const json = await get(`/track/${trackingNumber}/status`, address)
    expect(json.headers.get('content-type')).toBe('application/json')
    expect(json.headers.get('referrer-policy')).toBe('no-referrer')
    expect(json.headers.get('x-robots-tag')).toContain('noindex')
    expect(json.headers.get('cache-control')).toBe('no-store')
    expect(json.headers.get('content-security-policy')).toContain("default-src 'none'")
  })

  test('the 404 and 429 pages carry the same headers and no script at all', async () => {
    const address = newAddress()
    const refusals = []
    for (let i = 0; i < 7; i++) refusals.push(await get('/track/TRK-0000-0000-0000', address))
    expect(refusals.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404, 429])
    for (const answer of [refusals[0]!, refusals[6]!]) {
      const csp = answer.headers.get('content-security-policy')!
      expect(csp).toStartWith("default-src 'none'")
      expect(csp).not.toContain('script-src')
      expect(answer.text).not.toContain('<script')
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer')
      expect(answer.headers.get('x-robots-tag')).toContain('noindex')
      expect(answer.headers.get('cache-control')).toBe('no-store')
      expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8')
    }
  })
})

describe('a number that shows no parcel', () => {
  test('unknown, malformed and withdrawn numbers get one friendly 404 page, byte for byte, that never repeats the number', async () => {
    const { trackingNumber: withdrawn } = await newParcel()
    expect((await get(`/track/${withdrawn}`, newAddress())).status).toBe(200)
    expect((await ctx.call('DELETE', `/deliveries/${withdrawn}`)).status).toBe(204)
    const tried = [
      'TRK-0000-0000-0000',
      'TRK-ZZZZ-ZZZZ-ZZZ9',
      withdrawn,
      withdrawn.toLowerCase(),
      'nope',
      'TRK-',
      'TRK-UUUU-UUUU-UUUU',
      '<script>alert(1)</script>',
      '"><img src=x onerror=alert(1)>',
      'A'.repeat(500),
      '%00',
      '%C0%AF',
      '%ZZ',
      '%',
      '%ED%A0%80',
      '📦',
      '1 OR 1=1',
    ]
    const pages = []
    const json = []
    for (const number of tried) {
      const path = `/track/${number.startsWith('%') ? number : encodeURIComponent(number)}`
      pages.push({ number, answer: await get(path, newAddress()) })
      json.push({ number, answer: await get(`${path}/status`, newAddress()) })
    }
    const page = pages[0]!.answer
    expect(page.status).toBe(404)
    expect(page.text).toContain('<h1>No parcel to show</h1>')
    for (const { number, answer } of pages) {
      expect({ number, status: answer.status, same: answer.text === page.text }).toEqual({ number, status: 404, same: true })
      expect([...(answer.headers as any).keys()].sort()).toEqual([...(page.headers as any).keys()].sort())
    }
    expect(page.text).not.toContain('TRK-0000-0000-0000')
    for (const { number, answer } of json) {
      expect({ number, status: answer.status, body: answer.json }).toEqual({ number, status: 404, body: json[0]!.answer.json })
      expect(answer.headers.get('content-type')).toBe('application/problem+json')
    }
    expect(json[0]!.answer.json.code).toBe('not-found')
    expect(json[0]!.answer.text).not.toContain('TRK-0000')
  })
})

describe('the rate limit, per client address', () => {
  const { capacity, missCost } = TRACKING_RATE_LIMIT

  test(`${capacity} lookups of a parcel pass, the next answers 429 with Retry-After; another address is not affected`, async () => {
    const { trackingNumber } = await newParcel()
    const address = newAddress()
    const statuses: number[] = []
    // pages and polls draw on one bucket
    for (let i = 0; i < capacity; i++) statuses.push((await get(`/track/${trackingNumber}${i % 2 ? '/status' : ''}`, address)).status)
    expect(statuses.every((s) => s === 200)).toBe(true)
    const page = await get(`/track/${trackingNumber}`, address)
    expect(page.status).toBe(429)
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.text).toContain('<h1>Too many requests</h1>')
    expect(page.text).toContain(`Try again in ${page.headers.get('retry-after')} second`)
    const json = await get(`/track/${trackingNumber}/status`, address)
    expect(json.status).toBe(429)
    expect(json.headers.get('content-type')).toBe('application/problem+json')
    expect(json.json.code).toBe('too-many-requests')
    expect(Number(json.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)

    expect((await get(`/track/${trackingNumber}`, newAddress())).status).toBe(200)
    // an IPv6 client counts per /64: another address of the same /64 shares the bucket
    const v6 = `2001:db8:${lastAddress}:1::`
    for (let i = 0; i < capacity; i++) await get(`/track/${trackingNumber}/status`, `${v6}${i + 1}`)
    expect((await get(`/track/${trackingNumber}/status`, `${v6}ffff`)).status).toBe(429)
    expect((await get(`/track/${trackingNumber}/status`, `2001:db8:${lastAddress}:2::1`)).status).toBe(200)
  })

  test(`a number that shows no parcel costs ${missCost}: ${capacity / missCost} misses, then even a real parcel waits`, async () => {
    const { trackingNumber } = await newParcel()
    const address = newAddress()
    const misses = []
    for (let i = 0; i < capacity / missCost; i++) misses.push((await get(`/track/TRK-0000-0000-000${i}`, address)).status)
    expect(misses).toEqual(Array(capacity / missCost).fill(404))
    expect((await get('/track/TRK-0000-0000-0009', address)).status).toBe(429)
    expect((await get(`/track/${trackingNumber}`, address)).status).toBe(429)
    expect((await get(`/track/${trackingNumber}`, newAddress())).status).toBe(200)
  })

  test('concurrent guesses cannot overdraw the bucket: each is charged before its lookup', async () => {
    const address = newAddress()
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => get(`/track/TRK-0000-0000-00${String(i).padStart(2, '0')}`, address)),
    )
    expect(answers.filter((a) => a.status === 404)).toHaveLength(capacity / missCost)
    expect(answers.filter((a) => a.status === 429)).toHaveLength(40 - capacity / missCost)
  })

  test('a lookup the database could not answer (503, to retry) costs what a hit costs, not a miss', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
    const broken = {
      select: () => {
        throw down
      },
    } as unknown as DeliveryTestContext['db']
    const outage = createApp({ db: broken, config: testConfig({ TRUST_PROXY_HOPS: '1' }), logger: silentLogger })
    const address = newAddress()
    const statuses = []
    for (let i = 0; i < capacity / missCost + 2; i++)
      statuses.push((await callApp(outage, 'GET', '/track/TRK-0000-0000-0000', { headers: { 'x-forwarded-for': address } })).status)
    expect(statuses).toEqual(Array(capacity / missCost + 2).fill(503))
  })

  test('over a real socket a forged X-Forwarded-For buys no fresh budget (TRUST_PROXY_HOPS defaults to 0)', async () => {
    const direct = createApp({ db: ctx.db, config: testConfig(), logger: silentLogger })
    const server = serveApp(direct, 0)
    try {
      const statuses = []
      for (let i = 0; i < capacity / missCost + 1; i++)
        statuses.push(
          (await fetch(`http://127.0.0.1:${server.port}/track/TRK-0000-0000-0000`, { headers: { 'x-forwarded-for': `203.0.113.${i}` } }))
            .status,
        )
      expect(statuses).toEqual([...Array(capacity / missCost).fill(404), 429])
    } finally {
      await server.stop(true)
    }
  })

  test('the bucket: refills with time up to its capacity, a refusal costs nothing, and memory stays bounded', () => {
    let clock = 0
    const limiter = createRateLimiter({ capacity: 10, refillPerSecond: 2, hitCost: 1, missCost: 5, maxClients: 3 }, () => clock)
    const miss = () => limiter.admit('a')
    expect(miss().ok).toBe(true) // 10 → 5
    expect(miss().ok).toBe(true) // 5 → 0
    const refused = miss()
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 1 })
    clock += 400 // +0.8 token: still under 1, and the refusal above took nothing
    expect(miss().ok).toBe(false)
    clock += 100 // 1 token
    const admitted = limiter.admit('a')
    expect(admitted.ok).toBe(true) // 1 → -4: one request in debt at most
    if (admitted.ok) admitted.hit() // found: charged 1 in all → 0
    clock += 500 // +1
    const hit = limiter.admit('a') // 1 → -4
    if (hit.ok) hit.hit() // → 0
    expect(limiter.admit('a')).toEqual({ ok: false, retryAfterSeconds: 1 })
    clock += 3_600_000 // an hour later: full, not more
    for (let i = 0; i < 2; i++) expect(limiter.admit('a').ok).toBe(true)
    expect(limiter.admit('a').ok).toBe(false)
    // 3 clients at most: the least recently seen goes first
    for (const key of ['b', 'c', 'd', 'e']) limiter.admit(key)
    expect(limiter.size).toBe(3)
    expect(limiter.admit('a').ok).toBe(true) // 'a' was evicted: a new, full bucket
  })
})

describe('live', () => {
  test('the JSON answers 304 to a current ETag, and the new status after a tick; the page starts from the same ETag', async () => {
    const { trackingNumber } = await newParcel()
    const address = newAddress()
    const before = await get(`/track/${trackingNumber}/status`, address)
    expect(before.status).toBe(200)
    expect(before.json).toMatchObject({ tracking_number: trackingNumber, status: 'READY_FOR_PICK_UP' })
    const etag = before.headers.get('etag')!
    expect(etag).toMatch(/^"[0-9a-z]+"$/)
    const page = await get(`/track/${trackingNumber}`, address)
    expect(page.text).toContain(`data-etag="${escapeHtml(etag)}"`)
    expect(page.text).toContain(`data-status-url="${trackingNumber}/status"`)

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const same = await get(`/track/${trackingNumber}/status`, address, { 'if-none-match': ifNoneMatch })
      expect({ ifNoneMatch, status: same.status, body: same.text }).toEqual({ ifNoneMatch, status: 304, body: '' })
      expect(same.headers.get('etag')).toBe(etag)
    }
    expect((await get(`/track/${trackingNumber}/status`, address, { 'if-none-match': '"other"' })).status).toBe(200)

    await advanceDeliveries(ctx.db)
    const after = await get(`/track/${trackingNumber}/status`, address, { 'if-none-match': etag })
    expect(after.status).toBe(200)
    expect(after.json.status).toBe('IN_ORIGIN')
    expect(after.json.tracking.map((e: { status: string }) => e.status)).toEqual(['READY_FOR_PICK_UP', 'IN_ORIGIN'])
    expect(after.headers.get('etag')).not.toBe(etag)
  })

  test('the page polls a third of the tick: at least every 30 s, at most every 2 s', async () => {
    expect([1, 3, 6, 30, 90, 86_400].map(pollSeconds)).toEqual([2, 2, 2, 10, 30, 30])
    const { trackingNumber } = await newParcel()
    const page = await get(`/track/${trackingNumber}`, newAddress())
    expect(page.text).toContain(`data-poll-seconds="${pollSeconds(testConfig().STATUS_TICK_SECONDS)}"`)
  })
})

describe('tracking_url', () => {
  test('is PUBLIC_URL/track/{tracking_number} in every answer with a delivery: create, again, get, list, patch', async () => {
    const call = (method: string, path: string, body?: unknown) =>
      callApp(app, method, path, { headers: { authorization: `Bearer ${'test-key-client-a'}` }, body })
    const body = deliveryBody()
    const created = await call('POST', '/deliveries', body)
    expect(created.status).toBe(201)
    const tn = created.json.tracking_number
    const url = `${PUBLIC_URL}/track/${tn}`
    expect(created.json.tracking_url).toBe(url)
    expect((await call('POST', '/deliveries', body)).json.tracking_url).toBe(url)
    expect((await call('GET', `/deliveries/${tn}`)).json.tracking_url).toBe(url)
    const listed = (await call('GET', '/deliveries?limit=100')).json.data.find((d: { tracking_number: string }) => d.tracking_number === tn)
    expect(listed.tracking_url).toBe(url)
    expect((await call('PATCH', `/deliveries/${tn}`, { origin: { address: 'Dock 2' } })).json.tracking_url).toBe(url)
    // the default: http://localhost:<PORT>
    expect((await ctx.call('GET', `/deliveries/${tn}`)).json.tracking_url).toBe(`http://localhost:3001/track/${tn}`)
    // and it is the page
    expect((await get(new URL(url).pathname.replace('/base', ''), newAddress())).status).toBe(200)
  })
})

describe('the OpenAPI document', () => {
  test('lists the page (HTML: 200, 404, 429) and its JSON (200, 304 with ETag, 404, 429) as public routes', async () => {
    const { routes } = await openApiRoutes(app)
    const page = routes.find((r) => r.key === 'GET /track/{tracking_number}')!
    const json = routes.find((r) => r.key === 'GET /track/{tracking_number}/status')!
    expect([page.operation.operationId, json.operation.operationId]).toEqual(['getTrackingPage', 'getTrackingStatus'])
    for (const route of [page, json]) expect(route.operation.security).toEqual([])
    const types = (route: typeof page) =>
      Object.fromEntries(Object.entries<any>(route.operation.responses).map(([s, r]) => [s, r.$ref ?? Object.keys(r.content ?? {})]))
    // the failures every route shares (500, the database's 503) are the service's problem+json
    const shared = { 500: '#/components/responses/InternalError', 503: '#/components/responses/DatabaseUnavailable' }
    expect(types(page)).toEqual({ 200: ['text/html'], 404: ['text/html'], 429: ['text/html'], ...shared })
    expect(types(json)).toEqual({
      200: ['application/json'],
      304: [],
      404: '#/components/responses/NotFound',
      429: ['application/problem+json'],
      ...shared,
    })
    const headers = (route: typeof page, status: number) => Object.keys(route.operation.responses[status].headers ?? {}).sort()
    expect(headers(page, 429)).toEqual(['Retry-After', 'X-Request-Id'])
    expect(headers(json, 429)).toEqual(['Retry-After', 'X-Request-Id'])
    expect(headers(json, 200)).toEqual(['ETag', 'X-Request-Id'])
    expect(headers(json, 304)).toEqual(['ETag', 'X-Request-Id'])
    expect(json.operation.parameters.map((p: { name: string; in: string }) => `${p.in} ${p.name}`)).toEqual([
      'path tracking_number',
      'header If-None-Match',
    ])
  })
})

describe('the view and the HTML helper', () => {
  test('each status has words, a symbol and a place on the progress line', () => {
    const at = (status: DeliveryStatus) => trackingView({ status, tracking: [{ status, date: '2026-01-01T00:00:00.000Z' }] })
    expect(at('READY_FOR_PICK_UP').steps.map((s) => s.state)).toEqual(['current', 'todo', 'todo', 'todo'])
    expect(at('IN_ORIGIN').steps.map((s) => s.state)).toEqual(['done', 'current', 'todo', 'todo'])
    expect(at('IN_ROUTE_OF_DELIVERY').steps.map((s) => s.state)).toEqual(['done', 'done', 'current', 'todo'])
    expect(at('NOT_DELIVERED').steps.map((s) => s.state)).toEqual(['done', 'done', 'failed', 'todo'])
    expect(at('DELIVERED').steps.map((s) => s.state)).toEqual(['done', 'done', 'done', 'done'])
    for (const status of ['READY_FOR_PICK_UP', 'IN_ORIGIN', 'IN_ROUTE_OF_DELIVERY', 'NOT_DELIVERED', 'DELIVERED'] as const) {
      const view = at(status)
      expect(view.title).not.toContain('_')
      expect(view.mark).not.toBe('')
      expect(view.steps.filter((s) => s.current)).toHaveLength(1)
      expect(view.final).toBe(status === 'DELIVERED')
    }
  })

  test('html escapes every value it is given, and only markup the code wrote passes as is', () => {
    const value = `<script>alert("x")</script>&'`
    expect(html`<p title="${value}">${value}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>',
    )
    expect(html`<ul>${['<a>', html`<li>${'&'}</li>`]}</ul>`.value).toBe('<ul>&lt;a&gt;<li>&amp;</li></ul>')
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0')
  })
})
