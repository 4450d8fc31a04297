import { join } from 'node:path'
import { type Db, openDatabase } from '@logistics/shared/db'
import * as schema from './schema'

export type DeliveryDb = Db<typeof schema>
export const migrationsFolder = join(import.meta.dir, '../../drizzle')
export { schema }

export const openDeliveryDatabase = (url: string | undefined) =>
  openDatabase({ url, service: 'delivery', schema, migrationsFolder })
