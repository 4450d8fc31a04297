import { afterAll, beforeAll, expect, test } from 'bun:test'
import { silentLogger } from '@logistics/shared'
import { callApp } from '@logistics/testkit/http'
import { createApp } from '../src/app'
import { type DeliveryTestContext, setupDelivery, testConfig } from './helpers'

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
}, 60_000)
afterAll(() => t.close())

test('GET /health tells the tick interval (how long a delivery takes: bun run demo reads it)', async () => {
  const app = createApp({ db: t.db, config: testConfig(), logger: silentLogger, tickSeconds: 3600 })
  const res = await callApp(app, 'GET', '/health')
  expect(res.status).toBe(200)
  expect(res.json).toMatchObject({ status: 'ok', tick_seconds: 3600 })
  // An app that runs no tick (the tests' own) says nothing about one.
  expect((await t.call('GET', '/health')).json.tick_seconds).toBeUndefined()
})
