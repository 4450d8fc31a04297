import { afterAll, describe, expect, test } from 'bun:test'
import { databaseFingerprint, fingerprintDiff } from '@logistics/testkit/fingerprint'
import { type BodyTemplate, junkAuthorization } from '@logistics/testkit/generators'
import { invalidRequest, junkInputProperty } from '@logistics/testkit/junk-input'
import { openApiRoutes } from '@logistics/testkit/openapi-routes'
import fc from 'fast-check'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { type DeliveryTestContext, deliveryBody, KEY_A, KEY_B, setupDelivery } from './helpers'

/**
 * Junk input against every route the delivery service's own OpenAPI document lists: each answer
 * is a 4xx problem+json (never a 5xx, never a 2xx) and no row of any table changes.
 */

const ctx: DeliveryTestContext = await setupDelivery()
afterAll(() => ctx.close())
const { routes } = await openApiRoutes(ctx.app)

const created = await ctx.call('POST', '/deliveries', { key: KEY_A, body: deliveryBody({ foreign_order_id: 'fuzz-existing' }) })
await ctx.call('POST', '/deliveries', { key: KEY_B, body: deliveryBody({ foreign_order_id: 'fuzz-existing' }) })
const hook = await ctx.call('POST', '/webhooks', { key: KEY_A, body: { url: 'http://127.0.0.1:1/fuzz-hook' } })
if (created.status !== 201 || hook.status !== 201) throw new Error('fixtures failed')
// a tick writes tracking and webhook-event rows, so those tables are part of the fingerprint too
await advanceDeliveries(ctx.db)
/** Resources of client A that the junk requests aim at (so only the broken part can fail them). */
const pathValues: Record<string, string> = { tracking_number: created.json.tracking_number, id: hook.json.id }

/** Minimal valid bodies (every key required), keyed like the document's routes. */
const templates: Record<string, BodyTemplate> = {
  'POST /deliveries': { body: deliveryBody({ foreign_order_id: 'fuzz-order-1' }) },
  'PATCH /deliveries/{tracking_number}': { body: { destination: { name: 'Grace Hopper', address: '1 Navy Yard, Arlington' } } },
  'POST /tracking': { body: { tracking_number: 'TRK-0000-0000-0000' } },
  'POST /webhooks': { body: { url: 'https://hooks.example.test/fuzz' } },
  'POST /webhooks/{id}/recover': { body: { since: '2020-01-01T00:00:00Z' } },
}

const credentials = fc.oneof(
  fc.constantFrom<Record<string, string>>(
    {},
    { authorization: `Bearer ${KEY_A}` },
    { authorization: `Bearer ${KEY_B}` },
    { authorization: 'Bearer not-a-valid-key' },
  ),
  junkAuthorization.map((authorization) => ({ authorization })),
)

test('the document lists the routes of the contract and every body route has a template', () => {
  const keys = routes.map((r) => r.key)
  for (const key of ['POST /deliveries', 'GET /deliveries/{tracking_number}/tracking', 'POST /webhooks', 'GET /webhooks/{id}/attempts'])
    expect(keys).toContain(key)
  expect(
    routes
      .filter((r) => r.hasBody)
      .map((r) => r.key)
      .sort(),
  ).toEqual(Object.keys(templates).sort())
})

junkInputProperty({
  routes,
  requests: (route) => invalidRequest(route, { pathValues, template: templates[route.key], auth: credentials }),
  numRuns: 60,
  context: () => ({ app: ctx.app, db: ctx.db }),
})

describe('targeted junk', () => {
  test('a NUL character anywhere answers 404/422, not a database error', async () => {
    const before = await databaseFingerprint(ctx.db)
    const withNul = deliveryBody()
    withNul.order.products[0]!.name = 'Ket\u0000tle'
    const cases = [
      await ctx.call('POST', '/deliveries', { body: withNul }),
      await ctx.call('POST', '/tracking', { body: { foreign_order_id: 'a\u0000b' } }),
      await ctx.call('POST', '/webhooks', { body: { url: 'https://a.test/\u0000' } }),
      await ctx.call('GET', '/deliveries/TRK%00'),
      await ctx.call('GET', '/deliveries?status=%00'),
    ]
    expect(cases.map((c) => c.status)).toEqual([422, 422, 422, 404, 422])
    expect(fingerprintDiff(before, await databaseFingerprint(ctx.db))).toEqual([])
  })
})
