import { silentLogger } from '@logistics/shared'
import { createTestDatabase } from '@logistics/testkit/databases'
import { callApp } from '@logistics/testkit/http'
import { createApp } from '../src/app'
import { type DeliveryConfig, loadConfig } from '../src/config'
import { type DeliveryDb, migrationsFolder, schema } from '../src/db'
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
