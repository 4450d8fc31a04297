import { join } from 'node:path'
import { type Db, type OpenDatabaseOptions, openDatabase } from '@logistics/shared/db'
import * as schema from './schema'

export type DeliveryDb = Db<typeof schema>
export const migrationsFolder = join(import.meta.dir, '../../drizzle')
export { schema }

export const openDeliveryDatabase = (
  url: string | undefined,
  options: Pick<OpenDatabaseOptions<typeof schema>, 'connectTimeoutSeconds' | 'onConnectRetry' | 'onStep'> = {},
) => openDatabase({ url, service: 'delivery', schema, migrationsFolder, ...options })
