import { join } from 'node:path'
import { type Db, type OpenDatabaseOptions, openDatabase } from '@logistics/shared/db'
import * as schema from './schema'

export type EcommerceDb = Db<typeof schema>
const migrationsFolder = join(import.meta.dir, '../../drizzle')

export { schema }

export const openEcommerceDatabase = (
  url: string | undefined,
  options: Pick<OpenDatabaseOptions<typeof schema>, 'connectTimeoutSeconds' | 'onConnectRetry' | 'onStep'> = {},
) => openDatabase({ url, service: 'ecommerce', schema, migrationsFolder, ...options })
