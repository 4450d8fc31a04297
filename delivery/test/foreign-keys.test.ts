import { afterAll, beforeAll, expect, test } from 'bun:test'
import { unindexedForeignKeys } from '@logistics/testkit/foreign-keys'
import { sql } from 'drizzle-orm'
import { type DeliveryTestContext, setupDelivery } from './helpers'

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
})
afterAll(() => t.close())

test('every foreign key of the delivery database has a full index leading with its columns (deletes and cascades stay cheap)', async () => {
  expect(await unindexedForeignKeys(t.db)).toEqual([])
})

test('the check finds a foreign key without one, or with only a partial index or one that does not lead with it', async () => {
  await t.db.execute(sql`create table fk_probe (id int primary key, n int, event_id uuid references webhook_events (id))`)
  try {
    expect(await unindexedForeignKeys(t.db)).toEqual(['fk_probe (event_id) -> webhook_events'])
    await t.db.execute(sql`create index fk_probe_partial on fk_probe (event_id) where n > 0`)
    await t.db.execute(sql`create index fk_probe_second on fk_probe (n, event_id)`)
    expect(await unindexedForeignKeys(t.db)).toEqual(['fk_probe (event_id) -> webhook_events'])
    await t.db.execute(sql`create index fk_probe_full on fk_probe (event_id, n)`)
    expect(await unindexedForeignKeys(t.db)).toEqual([])
  } finally {
    await t.db.execute(sql`drop table fk_probe`)
  }
})
