import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createTestDatabase, type TestDatabase } from '@logistics/testkit/databases'
import { unindexedForeignKeys } from '@logistics/testkit/foreign-keys'
import * as schema from '../src/db/schema'
import { migrationsFolder } from './helpers'

let database: TestDatabase<typeof schema>
beforeAll(async () => {
  database = await createTestDatabase({ service: 'ecommerce', schema, migrationsFolder })
})
afterAll(() => database.close())

test('every foreign key of the ecommerce database has a full index leading with its columns (deletes and cascades stay cheap)', async () => {
  expect(await unindexedForeignKeys(database.db)).toEqual([])
})
