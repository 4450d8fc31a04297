import { afterAll, expect, test } from 'bun:test'
import { type AuthzCase, authorizationMatrix, statuses } from '@logistics/testkit/authz-matrix'
import { openApiRoutes } from '@logistics/testkit/openapi-routes'
import { type DeliveryTestContext, deliveryBody, KEY_A, KEY_B, setupDelivery } from './helpers'

/**
 * The authorization matrix of the delivery service, derived from its OpenAPI document: every
 * documented route must have a row in POLICY (and every row a route), and each row says what
 * every caller gets for a valid request against client A's resources. A client sees only its own
 * deliveries and webhooks; another client's id answers 404; no or a wrong key answers 401.
 */

const ROLES = ['none', 'invalidKey', 'clientA', 'clientB'] as const
type Role = (typeof ROLES)[number]
const KEYS: Record<Role, string | null> = { none: null, invalidKey: 'not-a-delivery-key', clientA: KEY_A, clientB: KEY_B }

const ctx: DeliveryTestContext = await setupDelivery()
afterAll(() => ctx.close())
const { routes } = await openApiRoutes(ctx.app)

const A_ORDER = `authz-a-${crypto.randomUUID()}`
const A_DESTINATION = 'Owner A Destination Name'

async function newDelivery(key: string, foreignOrderId = `authz-${crypto.randomUUID()}`) {
  const body = deliveryBody({ foreign_order_id: foreignOrderId })
  const r = await ctx.call('POST', '/deliveries', { key, body: { ...body, destination: { ...body.destination, name: A_DESTINATION } } })
  if (r.status !== 201) throw new Error(`fixture delivery: ${r.status} ${r.text}`)
  return r.json.tracking_number as string
}
async function newWebhook(key: string) {
  const r = await ctx.call('POST', '/webhooks', { key, body: { url: `https://hooks.example.test/${crypto.randomUUID()}` } })
  if (r.status !== 201) throw new Error(`fixture webhook: ${r.status} ${r.text}`)
  return r.json.id as string
}

// Client A's fixtures; client B has its own too (so "not yours" is not "nothing exists").
const trackingA = await newDelivery(KEY_A, A_ORDER)
const webhookA = await newWebhook(KEY_A)
const trackingB = await newDelivery(KEY_B)
const webhookB = await newWebhook(KEY_B)

/** Only client A: 401 without a valid key, 404 for client B (not its delivery or webhook). */
const ownerOnly = (ok: number) => statuses(ROLES, 401, { clientA: ok, clientB: 404 })
/** Any valid client: acts on its own data. */
const anyClient = (ok: number) => statuses(ROLES, 401, { clientA: ok, clientB: ok })

const POLICY: Record<string, AuthzCase<Role>[]> = {
  'GET /health': [{ expect: statuses(ROLES, 200), request: () => ({ path: '/health' }) }],
  'GET /health/live': [{ expect: statuses(ROLES, 200), request: () => ({ path: '/health/live' }) }],
  // Open in development (no METRICS_TOKEN); the token cases are in metrics.test.ts.
  'GET /metrics': [{ expect: statuses(ROLES, 200), request: () => ({ path: '/metrics' }) }],
  'POST /deliveries': [{ expect: anyClient(201), request: () => ({ path: '/deliveries', body: deliveryBody() }) }],
  'GET /deliveries': [
    {
      expect: anyClient(200),
      request: () => ({ path: '/deliveries?limit=100' }),
      hidden: { from: ['clientB'], values: [trackingA, A_ORDER] },
    },
  ],
  'GET /deliveries/{tracking_number}': [{ expect: ownerOnly(200), request: () => ({ path: `/deliveries/${trackingA}` }) }],
  'PATCH /deliveries/{tracking_number}': [
    {
      expect: ownerOnly(200),
      request: () => ({ path: `/deliveries/${trackingA}`, body: { origin: { address: 'Another warehouse, 2 Dock Road' } } }),
    },
  ],
  'DELETE /deliveries/{tracking_number}': [
    { expect: ownerOnly(204), request: async () => ({ path: `/deliveries/${await newDelivery(KEY_A)}` }) },
  ],
  'GET /deliveries/{tracking_number}/tracking': [
    { expect: ownerOnly(200), request: () => ({ path: `/deliveries/${trackingA}/tracking` }) },
  ],
  'POST /tracking': [
    { label: 'by tracking number', expect: ownerOnly(200), request: () => ({ path: '/tracking', body: { tracking_number: trackingA } }) },
    { label: 'by order id', expect: ownerOnly(200), request: () => ({ path: '/tracking', body: { foreign_order_id: A_ORDER } }) },
  ],
  // Public, no credentials: anyone holding the number sees the parcel's status and dates, and
  // nothing of its owner (order id, destination); the key presented changes nothing.
  'GET /track/{tracking_number}': [
    {
      expect: statuses(ROLES, 200),
      request: () => ({ path: `/track/${trackingA}` }),
      hidden: { from: [...ROLES], values: [A_ORDER, A_DESTINATION] },
    },
  ],
  'GET /track/{tracking_number}/status': [
    {
      expect: statuses(ROLES, 200),
      request: () => ({ path: `/track/${trackingA}/status` }),
      hidden: { from: [...ROLES], values: [A_ORDER, A_DESTINATION] },
    },
  ],
  'POST /webhooks': [
    { expect: anyClient(201), request: () => ({ path: '/webhooks', body: { url: `https://hooks.example.test/${crypto.randomUUID()}` } }) },
  ],
  'GET /webhooks': [
    { expect: anyClient(200), request: () => ({ path: '/webhooks?limit=100' }), hidden: { from: ['clientB'], values: [webhookA] } },
  ],
  'GET /webhooks/{id}': [{ expect: ownerOnly(200), request: () => ({ path: `/webhooks/${webhookA}` }) }],
  'DELETE /webhooks/{id}': [{ expect: ownerOnly(204), request: async () => ({ path: `/webhooks/${await newWebhook(KEY_A)}` }) }],
  'GET /webhooks/{id}/attempts': [{ expect: ownerOnly(200), request: () => ({ path: `/webhooks/${webhookA}/attempts` }) }],
  'POST /webhooks/{id}/enable': [{ expect: ownerOnly(200), request: () => ({ path: `/webhooks/${webhookA}/enable` }) }],
  'POST /webhooks/{id}/recover': [
    { expect: ownerOnly(202), request: () => ({ path: `/webhooks/${webhookA}/recover`, body: { since: '2020-01-01T00:00:00Z' } }) },
  ],
}

authorizationMatrix({
  routes,
  policy: POLICY,
  context: () => ({
    app: ctx.app,
    db: ctx.db,
    roles: ROLES,
    headersFor: (role): Record<string, string> => (KEYS[role] === null ? {} : { authorization: `Bearer ${KEYS[role]}` }),
    secrets: [A_ORDER, A_DESTINATION, webhookA],
  }),
})

test("client B's own resources stay invisible to client A too", async () => {
  for (const path of [
    `/deliveries/${trackingB}`,
    `/deliveries/${trackingB}/tracking`,
    `/webhooks/${webhookB}`,
    `/webhooks/${webhookB}/attempts`,
  ])
    expect({ path, status: (await ctx.call('GET', path, { key: KEY_A })).status }).toEqual({ path, status: 404 })
  const list = await ctx.call('GET', '/deliveries?limit=100', { key: KEY_A })
  expect(list.text).not.toContain(trackingB)
})
