/**
 * One status-transition rule: the tick's SQL CASE is generated from the shared TypeScript table
 * (DELIVERY_TRANSITIONS). This checks the statement against the table for every status: each move
 * a tick makes is a move the table allows, each non-final status moves, every successor is drawn.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { DELIVERY_STATUSES, DELIVERY_TRANSITIONS, isFinalDeliveryStatus } from '@logistics/shared'
import { eq } from 'drizzle-orm'
import { apiClients, trackingEvents } from '../src/db/schema'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { type DeliveryTestContext, seedDeliveries, setupDelivery } from './helpers'

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
}, 60_000)
afterAll(() => t.close())

test('every move of the tick statement is one the transition table allows, for every status', async () => {
  const [client] = await t.db.select().from(apiClients).where(eq(apiClients.name, 'a'))
  const perStatus = 40
  for (const status of DELIVERY_STATUSES) await seedDeliveries(t.db, client!.id, perStatus, status)
  const result = await advanceDeliveries(t.db, { now: new Date('2030-01-01T00:00:00Z'), seed: 0.42 })
  const open = DELIVERY_STATUSES.filter((s) => !isFinalDeliveryStatus(s))
  expect(result).toMatchObject({ ran: true, moved: open.length * perStatus })

  const moves = await t.db.select({ from: trackingEvents.previousStatus, to: trackingEvents.status }).from(trackingEvents)
  for (const move of moves) expect(DELIVERY_TRANSITIONS[move.from!]).toContain(move.to)
  for (const from of DELIVERY_STATUSES) {
    const drawn = new Set(moves.filter((m) => m.from === from).map((m) => m.to))
    // A final status never moves; every other one moves, and (40 draws) reaches each of its successors.
    expect([...drawn].sort()).toEqual([...DELIVERY_TRANSITIONS[from]].sort())
  }
})
