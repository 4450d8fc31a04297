import { afterAll, beforeAll, expect, mock, test } from 'bun:test'
import { generateTrackingNumber, TRACKING_NUMBER_PATTERN } from '../src/modules/deliveries/tracking-number'
import { type DeliveryTestContext, deliveryBody, setupDelivery } from './helpers'

/** The next numbers the generator hands out (then real random ones). */
const queued: string[] = []
const realGenerator = generateTrackingNumber
mock.module('../src/modules/deliveries/tracking-number', () => ({
  TRACKING_NUMBER_PATTERN,
  generateTrackingNumber: () => queued.shift() ?? realGenerator(),
}))

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
}, 60_000)
afterAll(() => t.close())

test('a tracking number drawn twice (60 random bits: rare, not impossible) is redrawn: the second delivery is still created', async () => {
  queued.push('TRK-AAAA-AAAA-AAAA', 'TRK-AAAA-AAAA-AAAA', 'TRK-BBBB-BBBB-BBBB')
  const first = await t.call('POST', '/deliveries', { body: deliveryBody() })
  const second = await t.call('POST', '/deliveries', { body: deliveryBody() })
  expect([first.status, second.status]).toEqual([201, 201])
  expect(first.json.tracking_number).toBe('TRK-AAAA-AAAA-AAAA')
  expect(second.json.tracking_number).toBe('TRK-BBBB-BBBB-BBBB')
  expect((await t.call('GET', '/deliveries/TRK-BBBB-BBBB-BBBB/tracking')).json.tracking).toHaveLength(1)
})
