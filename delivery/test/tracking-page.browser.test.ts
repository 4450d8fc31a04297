import { afterAll, beforeAll, describe, expect } from 'bun:test'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { silentLogger } from '@logistics/shared'
import { serveApp } from '@logistics/shared/http/serve'
import { browserTest, HAVE_CHROMIUM, launchChromium } from '@logistics/testkit/chromium'
import { eq } from 'drizzle-orm'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createApp } from '../src/app'
import { deliveries, trackingEvents } from '../src/db/schema'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { type DeliveryTestContext, deliveryBody, setupDelivery, testConfig } from './helpers'

/**
 * The public tracking page in a real browser: Debian's Chromium (installed by .ci/run, never
 * downloaded), driven by playwright-core, against the delivery service served on a random port.
 * On a desktop and on a 360 px wide phone it checks what a person sees (status in words, history,
 * dates in the reader's locale and time zone), that nothing personal is anywhere in the DOM, that
 * the page follows a tick without a reload and stops asking once delivered, that it works without
 * JavaScript, that no console error or CSP violation occurs, and that axe-core finds no serious or
 * critical accessibility violation. Screenshots go to test-results/. The tests run one after the
 * other (run at once in one process, playwright once reported an event for a frame it no longer
 * knew, thrown outside any test), each on a delivery service of its own.
 *
 * Without Chromium the test is skipped (the reason in its name), except in CI (CI=true), where it
 * fails: .ci/run installs it.
 */

const RESULTS = join(import.meta.dir, '..', '..', 'test-results')

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
/** The reader of the page: not the server's locale or zone (UTC, English). */
const READER = { locale: 'de-DE', timezoneId: 'Asia/Tokyo' }
const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 900 } },
  { name: 'phone-360', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true },
] as const

let browser: Browser | undefined

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return
  browser = await launchChromium() // one browser for every test
  mkdirSync(RESULTS, { recursive: true })
}, 60_000)

afterAll(async () => {
  await browser?.close()
})

/** A delivery service of the test's own, served on a random port: a tick of one never moves another's parcel. */
async function service() {
  const ctx = await setupDelivery()
  // a 3 s tick: the page asks for news every 2 s (the tick itself is called by the test)
  const app = createApp({ db: ctx.db, config: testConfig({ STATUS_TICK_SECONDS: '3' }), logger: silentLogger })
  const server = serveApp(app, 0)
  return {
    ctx,
    base: `http://127.0.0.1:${server.port}`,
    async [Symbol.asyncDispose]() {
      await server.stop(true)
      await ctx.close()
    },
  }
}

/** A new parcel, with the personal data that must never show. */
async function newParcel(ctx: DeliveryTestContext, label: string) {
  const body = deliveryBody()
  body.destination = { name: `Grace ${label} Hopper`, address: `${label} Navy Yard 7, Arlington` }
  body.order.products[0]!.name = `Teapot ${label}`
  const created = await ctx.call('POST', '/deliveries', { body })
  if (created.status !== 201) throw new Error(`fixture: ${created.status} ${created.text}`)
  const trackingNumber = created.json.tracking_number as string
  const secrets = [
    body.destination.name,
    body.destination.address,
    body.origin.address,
    body.order.foreign_order_id,
    body.order.products[0]!.name,
  ]
  return { trackingNumber, url: created.json.tracking_url as string, secrets }
}

/** Errors the page causes: console errors (CSP violations are reported there), uncaught exceptions. */
function watch(page: Page) {
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  const statusRequests: number[] = []
  page.on('request', (request) => {
    if (request.url().endsWith('/status')) statusRequests.push(Date.now())
  })
  return { errors, statusRequests }
}

/** axe-core's serious and critical violations of the page as it is now. */
async function seriousViolations(page: Page) {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) is not loosened for it.
  await page.evaluate(AXE_SOURCE)
  const result = await page.evaluate(() => (window as any).axe.run(document, { resultTypes: ['violations'] }))
  return (result.violations as { id: string; impact: string; nodes: { target: string[] }[] }[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}

/** What a person reads in the page's status, progress line and history. */
const readable = (page: Page) =>
  // biome-ignore lint/performance/useDomNodeTextContent: the text as laid out for a reader is the point
  page.evaluate(() => ['status', 'steps', 'history'].map((id) => (document.getElementById(id) as HTMLElement).innerText))

/** Puts a parcel into `status` with the event a tick would have written (the tick's 50/50 draw is not the test's). */
async function moveTo(ctx: DeliveryTestContext, trackingNumber: string, status: 'DELIVERED') {
  const [row] = await ctx.db.select().from(deliveries).where(eq(deliveries.trackingNumber, trackingNumber))
  await ctx.db.insert(trackingEvents).values({ deliveryId: row!.id, status })
  await ctx.db.update(deliveries).set({ status }).where(eq(deliveries.id, row!.id))
}

describe('the tracking page in Chromium', () => {
  for (const { name, ...options } of VIEWPORTS)
    browserTest(
      `${name}: shows the parcel in the reader's words and time, follows a tick live, stops once delivered; nothing personal, no console error, no serious axe violation`,
      async () => {
        await using served = await service()
        const { ctx, base } = served
        const parcel = await newParcel(ctx, name)
        const context: BrowserContext = await browser!.newContext({ ...options, ...READER })
        try {
          const page = await context.newPage()
          const seen = watch(page)
          const loaded = await page.goto(new URL(new URL(parcel.url).pathname, base).toString())
          expect(loaded?.status()).toBe(200)

          // What a person sees
          await expect(page.locator('h1').textContent()).resolves.toBe(`Parcel ${parcel.trackingNumber}`)
          await expect(page.locator('#status .status-title').textContent()).resolves.toContain('Ready for pick-up')
          await expect(page.locator('#history li').count()).resolves.toBe(1)
          await expect(page.locator('#freshness').textContent()).resolves.toContain('This page updates by itself')
          // Dates in the reader's locale and time zone (Tokyo, German), not the server's UTC text
          const time = page.locator('#history time').first()
          const iso = (await time.getAttribute('datetime'))!
          const shown = await time.textContent()
          const expected = await page.evaluate(
            (d) =>
              new Intl.DateTimeFormat('de-DE', {
                timeZone: 'Asia/Tokyo',
                year: 'numeric',
                month: 'short',
                day: 'numeric',
                hour: '2-digit',
                minute: '2-digit',
                timeZoneName: 'short',
              }).format(new Date(d)),
            iso,
          )
          expect(shown).toBe(expected)
          expect(shown).not.toContain('UTC')

          // Nothing personal anywhere in the DOM, nor in the JSON the page polls
          const dom = await page.content()
          const json = await (await fetch(`${base}/track/${parcel.trackingNumber}/status`)).text()
          expect(parcel.secrets.filter((s) => dom.includes(s) || json.includes(s))).toEqual([])

          expect(await seriousViolations(page)).toEqual([])
          if (name === 'phone-360') expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360)
          await page.screenshot({ path: join(RESULTS, `tracking-page-${name}.png`), fullPage: true })

          // A tick: the page changes without a reload
          await page.evaluate(() => {
            ;(window as any).notReloaded = true
          })
          await advanceDeliveries(ctx.db)
          await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('At the depot'), null, {
            timeout: 15_000,
          })
          expect(await page.evaluate(() => (window as any).notReloaded)).toBe(true)
          await expect(page.locator('#history li').count()).resolves.toBe(2)
          await expect(page.locator('#steps li[aria-current="step"] .step-label').textContent()).resolves.toBe('At the depot')
          await expect(page.title()).resolves.toBe(`At the depot · Parcel ${parcel.trackingNumber}`)
          // the live page reads exactly like the page loaded afresh (one view, two renderers)
          const fresh = await context.newPage()
          await fresh.goto(page.url())
          expect(await readable(page)).toEqual(await readable(fresh))
          await fresh.close()
          expect(await seriousViolations(page)).toEqual([])

          // Delivered: shown, and the page stops asking
          await moveTo(ctx, parcel.trackingNumber, 'DELIVERED')
          await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('Delivered'), null, {
            timeout: 15_000,
          })
          await expect(page.locator('#freshness').textContent()).resolves.toContain('no longer updates')
          if (name === 'desktop') {
            // (the script's logic: once is enough)
            const asked = seen.statusRequests.length
            await page.waitForTimeout(5_000) // more than two poll intervals
            expect(seen.statusRequests.length).toBe(asked)
          }
          await page.screenshot({ path: join(RESULTS, `tracking-page-${name}-delivered.png`), fullPage: true })
          expect(await seriousViolations(page)).toEqual([])

          expect(seen.errors).toEqual([])
        } finally {
          await context.close()
        }
      },
      { timeout: 90_000 },
    )

  browserTest(
    'without JavaScript it is a readable static page (UTC dates, reload to update); unknown numbers get the 404 page, also accessible',
    async () => {
      await using served = await service()
      const { ctx, base } = served
      const parcel = await newParcel(ctx, 'static')
      const context = await browser!.newContext({ javaScriptEnabled: false, ...READER })
      try {
        const page = await context.newPage()
        const seen = watch(page)
        await page.goto(`${base}/track/${parcel.trackingNumber}`)
        await expect(page.locator('#status .status-title').textContent()).resolves.toContain('Ready for pick-up')
        await expect(page.locator('#history time').first().textContent()).resolves.toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/)
        await expect(page.locator('#freshness').textContent()).resolves.toContain('Reload the page')
        expect(seen.statusRequests).toEqual([])
        expect(seen.errors).toEqual([])
      } finally {
        await context.close()
      }
      const withScript = await browser!.newContext(READER)
      try {
        const page = await withScript.newPage()
        const answer = await page.goto(`${base}/track/TRK-0000-0000-0000`)
        expect(answer?.status()).toBe(404)
        await expect(page.locator('h1').textContent()).resolves.toBe('No parcel to show')
        expect(await seriousViolations(page)).toEqual([])
        await page.screenshot({ path: join(RESULTS, 'tracking-page-404.png'), fullPage: true })
      } finally {
        await withScript.close()
      }
    },
    { timeout: 60_000 },
  )
})
