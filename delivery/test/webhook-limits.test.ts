import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { silentLogger } from '@logistics/shared'
import { callApp } from '@logistics/testkit/http'
import { problemViolation } from '@logistics/testkit/problem'
import { and, eq, isNull } from 'drizzle-orm'
import { createApp } from '../src/app'
import { apiClients, webhookSubscriptions } from '../src/db/schema'
import { clearDeliveries, type DeliveryTestContext, KEY_A, KEY_B, setupDelivery, testConfig, testOnPostgres } from './helpers'

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
})
afterAll(() => t.close())
beforeEach(async () => {
  await clearDeliveries(t.db)
})

const url = (n: number | string) => `https://hooks.example.test/limit/${n}`
const register = (n: number | string, key = KEY_A, secret?: string) =>
  t.call('POST', '/webhooks', { key, body: { url: url(n), ...(secret ? { secret } : {}) } })

/** A client's live subscriptions, counted in the database. */
async function liveOf(name: string) {
  const [client] = await t.db.select().from(apiClients).where(eq(apiClients.name, name))
  return t.db.$count(webhookSubscriptions, and(eq(webhookSubscriptions.clientId, client!.id), isNull(webhookSubscriptions.deletedAt)))
}

describe('WEBHOOK_SUBSCRIPTIONS_PER_CLIENT (10 here, the default)', () => {
  test('one more than the limit answers 409 too-many-subscriptions and writes nothing; an existing url never counts', async () => {
    const ids: string[] = []
    for (let i = 0; i < 10; i++) {
      const r = await register(i)
      expect(r.status).toBe(201)
      ids.push(r.json.id)
    }
    const refused = await register(10)
    expect(refused.status).toBe(409)
    expect(problemViolation(refused)).toBeNull()
    expect(refused.json).toMatchObject({ code: 'too-many-subscriptions', limit: 10 })
    expect(await liveOf('a')).toBe(10)
    // Registering an existing url again (idempotent, or rotating its secret) is not a new one.
    expect((await register(3)).status).toBe(200)
    const rotated = await register(3, KEY_A, `whsec_${Buffer.alloc(32, 7).toString('base64')}`)
    expect(rotated.status).toBe(200)
    expect(rotated.json.id).toBe(ids[3])
    // Another client has its own limit.
    expect((await register(0, KEY_B)).status).toBe(201)
    // A deleted one stops counting at once, and its url can be registered again (a new webhook).
    expect((await t.call('DELETE', `/webhooks/${ids[0]}`)).status).toBe(204)
    const again = await register(0)
    expect(again.status).toBe(201)
    expect(again.json.id).not.toBe(ids[0])
    expect((await register(11)).status).toBe(409)
    expect(await liveOf('a')).toBe(10)
  })

  test('a limit of 1 (the variable read at start-up) answers 409 for a second url', async () => {
    const app = createApp({ db: t.db, config: testConfig({ WEBHOOK_SUBSCRIPTIONS_PER_CLIENT: '1' }), logger: silentLogger })
    const post = (n: number) => callApp(app, 'POST', '/webhooks', { headers: { authorization: `Bearer ${KEY_A}` }, body: { url: url(n) } })
    expect((await post(1)).status).toBe(201)
    expect((await post(1)).status).toBe(200)
    expect((await post(2)).status).toBe(409)
  })

  testOnPostgres('concurrent registrations at 9 make 10, never 11; the same new url at once makes one webhook', async () => {
    for (let i = 0; i < 9; i++) expect((await register(i)).status).toBe(201)
    const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => register(`race-${i}`)))
    expect(racing.map((r) => r.status).toSorted()).toEqual([201, 409, 409, 409, 409, 409, 409, 409])
    expect(await liveOf('a')).toBe(10)
    // Client b, at 5, registers one new url eight times at once: one 201, the same webhook 200 seven times.
    for (let i = 0; i < 5; i++) expect((await register(i, KEY_B)).status).toBe(201)
    const same = await Promise.all(Array.from({ length: 8 }, () => register('same', KEY_B)))
    expect(same.map((r) => r.status).toSorted()).toEqual([200, 200, 200, 200, 200, 200, 200, 201])
    expect(new Set(same.map((r) => r.json.id)).size).toBe(1)
    expect(await liveOf('b')).toBe(6)
  })
})
