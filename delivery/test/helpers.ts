import { type DeliveryStatus, silentLogger } from '@logistics/shared'

export { testOnPostgres } from '@logistics/testkit/databases'

import { createTestDatabase } from '@logistics/testkit/databases'
import { callApp } from '@logistics/testkit/http'
import { createApp } from '../src/app'
import { type DeliveryConfig, loadConfig } from '../src/config'
import { type DeliveryDb, migrationsFolder, schema } from '../src/db'
import { deliveries, tickState, webhookAttempts, webhookEvents, webhookSubscriptions } from '../src/db/schema'
import { provisionApiClients } from '../src/modules/auth/service'

export const KEY_A = 'test-key-client-a'
export const KEY_B = 'test-key-client-b'

/** The configuration of a test app: the test clients' keys (not the development key), no tick. */
export function testConfig(overrides: Record<string, string> = {}): DeliveryConfig {
  return loadConfig({ DELIVERY_API_KEYS: `a:${KEY_A},b:${KEY_B}`, LOG_LEVEL: 'silent', ...overrides })
}

/** A delivery app on a fresh test database with two API clients, `a` and `b`. */
export async function setupDelivery() {
  const database = await createTestDatabase({ service: 'delivery', schema, migrationsFolder })
  const db = database.db as DeliveryDb
  await provisionApiClients(db, [
    ['a', KEY_A],
    ['b', KEY_B],
  ])
  const app = createApp({ db, config: testConfig(), logger: silentLogger })
  async function call(method: string, path: string, options: { key?: string | null; body?: unknown; raw?: string } = {}) {
    const key = options.key === undefined ? KEY_A : options.key
    const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` }
    if (options.raw !== undefined) headers['content-type'] = 'application/json'
    return callApp(app, method, path, { headers, body: options.body, rawBody: options.raw })
  }
  return { database, db, app, call, close: () => database.close() }
}

export type DeliveryTestContext = Awaited<ReturnType<typeof setupDelivery>>

let counter = 0
/** A valid create-delivery body for a fresh order id. */
export function deliveryBody(overrides: { foreign_order_id?: string; qty?: number } = {}) {
  return {
    order: {
      foreign_order_id: overrides.foreign_order_id ?? `order-${Date.now()}-${++counter}`,
      products: [{ sku: 'SKU-1', name: 'Kettle', qty: overrides.qty ?? 2 }],
    },
    origin: { address: 'Warehouse 1, Dock Road, Rotterdam' },
    destination: { name: 'Ada Lovelace', address: '12 St James Square, London' },
  }
}

let seeded = 0
/**
 * Inserts `n` deliveries of `clientId` in `status` straight into the table (set-up only, no events).
 * Tracking numbers and order ids come from a counter: unique by construction (a clock-based number
 * collided when two calls fell in the same millisecond).
 */
export async function seedDeliveries(db: DeliveryDb, clientId: string, n: number, status: DeliveryStatus) {
  const rows = Array.from({ length: n }, () => ({
    clientId,
    // the real format (TRK- and three groups of four): what the document says every tracking number is
    trackingNumber: `TRK-TEST-${String(++seeded)
      .padStart(8, '0')
      .replace(/(\d{4})(\d{4})/, '$1-$2')}`,
    foreignOrderId: `seed-${status}-${seeded}`,
    status,
    products: [{ sku: 'S', name: 'N', qty: 1 }],
    originAddress: 'o',
    destinationName: 'd',
    destinationAddress: 'a',
    requestHash: 'h',
  }))
  for (let i = 0; i < rows.length; i += 500) await db.insert(deliveries).values(rows.slice(i, i + 500))
}

/** Empties the deliveries, the webhook tables and the tick guard (between tests sharing one database). */
export async function clearDeliveries(db: DeliveryDb) {
  await db.delete(webhookAttempts)
  await db.delete(webhookEvents)
  await db.delete(webhookSubscriptions)
  await db.delete(deliveries)
  await db.delete(tickState)
}
