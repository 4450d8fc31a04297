import { pingDatabase } from '@logistics/shared/db'
import type { DbOrTx } from '../../context'

export const checkHealth = async (db: DbOrTx) => ((await pingDatabase(db as never)) ? ('ok' as const) : ('unavailable' as const))
