/** One dispatcher replica for the benchmark: DATABASE_URL from the environment, stops on SIGTERM. */
import { createLogger } from '@logistics/shared'
import { openDeliveryDatabase } from '../delivery/src/db'
import { createDispatcher } from '../delivery/src/modules/webhooks/dispatcher'

const database = await openDeliveryDatabase(process.env.DATABASE_URL)
const dispatcher = createDispatcher(database.db, createLogger('bench-dispatcher', 'warn'), { pollMs: 20 })
dispatcher.start()
console.log('ready')
process.on('SIGTERM', async () => {
  await dispatcher.stop()
  await database.close()
  process.exit(0)
})
