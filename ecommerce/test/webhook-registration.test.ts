import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, isValidWebhookSecret, silentLogger } from '@logistics/shared'
import { createTestDatabase } from '@logistics/testkit/databases'
import { callApp } from '@logistics/testkit/http'
import { capturingLogger } from '@logistics/testkit/logging'
import { createApp } from '../src/app'
import { DEV_WEBHOOK_SECRET, loadConfig } from '../src/config'
import * as schema from '../src/db/schema'
import { startWebhookRegistration } from '../src/modules/delivery-webhooks/service'
import { createStubDelivery, migrationsFolder, testConfig } from './helpers'

const SECRET = `whsec_${Buffer.from('a registration secret of 32 b..').toString('base64')}`

describe('WEBHOOK_SECRET is checked at start-up with the delivery service rule', () => {
  test('a secret the delivery service would refuse is a configuration error naming the variable', () => {
    for (const bad of [
      'mysecret',
      'whsec_c2hvcnQ=',
      Buffer.alloc(32, 1).toString('base64'),
      `whsec_${Buffer.alloc(65, 1).toString('base64')}`,
    ]) {
      expect(() => loadConfig({ WEBHOOK_SECRET: bad })).toThrow(ConfigError)
      expect(() => loadConfig({ WEBHOOK_SECRET: bad })).toThrow(/WEBHOOK_SECRET: must be whsec_/)
    }
    expect(loadConfig({ WEBHOOK_SECRET: SECRET }).WEBHOOK_SECRET).toBe(SECRET)
  })

  test('the development default and the .env.example value are valid', () => {
    expect(isValidWebhookSecret(DEV_WEBHOOK_SECRET)).toBe(true)
    expect(loadConfig({}).WEBHOOK_SECRET).toBe(DEV_WEBHOOK_SECRET)
    const example = readFileSync(join(import.meta.dir, '../../.env.example'), 'utf8').match(/^WEBHOOK_SECRET=(.*)$/m)?.[1]
    expect(isValidWebhookSecret(example ?? '')).toBe(true)
  })

  test('the process exits 1 naming WEBHOOK_SECRET', async () => {
    const child = Bun.spawn(['bun', join(import.meta.dir, '../src/index.ts')], {
      env: { ...process.env, NODE_ENV: 'development', DATABASE_URL: 'memory://', WEBHOOK_SECRET: 'mysecret', PORT: '0' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const code = await child.exited
    const stderr = await new Response(child.stderr).text()
    expect(code).toBe(1)
    expect(stderr).toContain('WEBHOOK_SECRET')
  })
})

describe('the start-up webhook registration', () => {
  const stub = createStubDelivery()
  let database: Awaited<ReturnType<typeof createTestDatabase<typeof schema>>>
  beforeAll(async () => {
    database = await createTestDatabase({ service: 'ecommerce', schema, migrationsFolder })
  }, 60_000)
  afterAll(async () => {
    stub.stop()
    await database.close()
  })
  const health = async (registration: { readonly status: unknown }) => {
    const app = createApp({ db: database.db, config: testConfig(), logger: silentLogger, webhookRegistration: registration as never })
    return (await callApp(app, 'GET', '/health')).json
  }

  test('registered: GET /health says so', async () => {
    const reg = startWebhookRegistration({
      client: stub.client(),
      url: 'http://ok.test/webhooks/delivery',
      secret: SECRET,
      logger: silentLogger,
    })
    expect(await reg.done).toBe(true)
    expect(await health(reg)).toEqual({ status: 'ok', webhook_registration: { state: 'registered' } })
  })

  test('a 4xx refusal is a configuration error: logged at error level with the detail, not retried, reported by GET /health', async () => {
    stub.state.refuseWebhooks = 'url must be an absolute URL'
    stub.calls.length = 0
    const { logger, lines } = capturingLogger()
    try {
      const reg = startWebhookRegistration({
        client: stub.client(),
        url: 'http://refused.test/webhooks/delivery',
        secret: SECRET,
        logger,
        initialDelayMs: 5,
      })
      expect(await reg.done).toBe(false)
      await Bun.sleep(50) // a retry would have happened by now
      expect(stub.calls.filter((c) => c.path === '/webhooks')).toHaveLength(1)
      const error = lines.find((l) => l.level === 'error')
      expect(error).toMatchObject({ status: 422, detail: 'url must be an absolute URL' })
      expect(reg.status).toEqual({ state: 'failed', detail: expect.stringContaining('url must be an absolute URL') })
      const body = await health(reg)
      expect(body.status).toBe('ok')
      expect(body.webhook_registration).toEqual({ state: 'failed', detail: expect.stringContaining('422') })
    } finally {
      stub.state.refuseWebhooks = undefined
    }
  })

  test('a 5xx is retried (pending, with the reason) until it registers', async () => {
    stub.state.mode = 'error'
    const reg = startWebhookRegistration({
      client: stub.client(),
      url: 'http://later.test/webhooks/delivery',
      secret: SECRET,
      logger: silentLogger,
      initialDelayMs: 10,
      maxDelayMs: 20,
    })
    try {
      for (let i = 0; i < 100 && reg.status.state === 'pending' && !('detail' in reg.status); i++) await Bun.sleep(10)
      expect(reg.status).toEqual({ state: 'pending', detail: expect.stringContaining('500') })
      expect((await health(reg)).webhook_registration.state).toBe('pending')
    } finally {
      stub.state.mode = 'up'
    }
    expect(await reg.done).toBe(true)
    expect(reg.status).toEqual({ state: 'registered' })
  })
})
