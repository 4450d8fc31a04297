/**
 * `DELIVERY_API_KEYS` is the whole list of clients: a client left out is refused (401) from the next
 * start, its data kept; named again, it is back with its data.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@logistics/shared'
import { eq } from 'drizzle-orm'
import { freePort, startService } from '../../scripts/services'
import { apiClients } from '../src/db/schema'
import { findClientByKey, provisionApiClients } from '../src/modules/auth/service'
import { createDispatcher } from '../src/modules/webhooks/dispatcher'
import { deliveryBody, KEY_A, KEY_B, setupDelivery } from './helpers'

const dataDir = mkdtempSync(join(tmpdir(), 'delivery-clients-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('API clients follow DELIVERY_API_KEYS', () => {
  test('provisioning disables the clients left out, keeps their rows, and enables them again when named', async () => {
    const t = await setupDelivery()
    try {
      const b = await findClientByKey(t.db, KEY_B)
      expect(b).not.toBeNull()
      expect(await provisionApiClients(t.db, [['a', KEY_A]])).toEqual(['b'])
      expect(await findClientByKey(t.db, KEY_B)).toBeNull()
      expect(await findClientByKey(t.db, KEY_A)).not.toBeNull()
      const [row] = await t.db.select().from(apiClients).where(eq(apiClients.name, 'b'))
      expect(row!.disabledAt).toBeInstanceOf(Date)
      // idempotent: nothing more to disable
      expect(await provisionApiClients(t.db, [['a', KEY_A]])).toEqual([])
      expect(
        await provisionApiClients(t.db, [
          ['a', KEY_A],
          ['b', KEY_B],
        ]),
      ).toEqual([])
      expect(await findClientByKey(t.db, KEY_B)).toEqual(b)
    } finally {
      await t.close()
    }
  })

  test("a disabled client's webhooks are held, not sent, and go out once it is named again", async () => {
    const t = await setupDelivery()
    const received: string[] = []
    const server = Bun.serve({
      port: 0,
      fetch: (req) => {
        received.push(req.headers.get('webhook-id')!)
        return new Response(null, { status: 204 })
      },
    })
    try {
      expect((await t.call('POST', '/webhooks', { key: KEY_B, body: { url: `http://127.0.0.1:${server.port}/b` } })).status).toBe(201)
      expect((await t.call('POST', '/deliveries', { key: KEY_B, body: deliveryBody() })).status).toBe(201)
      await provisionApiClients(t.db, [['a', KEY_A]])
      await createDispatcher(t.db, silentLogger).runOnce()
      expect(received).toEqual([])
      await provisionApiClients(t.db, [
        ['a', KEY_A],
        ['b', KEY_B],
      ])
      await createDispatcher(t.db, silentLogger).runOnce()
      expect(received).toHaveLength(1) // the new delivery's first status, held while b was disabled
    } finally {
      server.stop(true)
      await t.close()
    }
  })

  test('a client removed from DELIVERY_API_KEYS is refused after a restart, and re-added finds its deliveries', async () => {
    const port = await freePort()
    const start = (keys: string) =>
      startService('delivery', {
        port,
        cwd: dataDir,
        env: { DATABASE_URL: '', DELIVERY_API_KEYS: keys, LOG_LEVEL: 'warn', NODE_ENV: 'test' },
        onLine: () => {},
      })
    const call = (url: string, key: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })

    let service = await start(`a:${KEY_A},b:${KEY_B}`)
    const created = await call(service.url, KEY_B, '/deliveries', deliveryBody())
    expect(created.status).toBe(201)
    const tracking = ((await created.json()) as { tracking_number: string }).tracking_number
    await service.stop()

    service = await start(`a:${KEY_A}`)
    try {
      const refused = await call(service.url, KEY_B, `/deliveries/${tracking}`)
      expect(refused.status).toBe(401)
      expect(refused.headers.get('content-type')).toBe('application/problem+json')
      expect((await call(service.url, KEY_A, '/deliveries')).status).toBe(200)
    } finally {
      await service.stop()
    }

    const KEY_B2 = 'test-key-client-b-rotated'
    service = await start(`a:${KEY_A},b:${KEY_B2}`)
    try {
      expect((await call(service.url, KEY_B2, `/deliveries/${tracking}`)).status).toBe(200)
      expect((await call(service.url, KEY_B, `/deliveries/${tracking}`)).status).toBe(401)
    } finally {
      await service.stop()
    }
  }, 120_000)
})
