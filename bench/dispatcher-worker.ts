/**
 * One dispatcher replica for the benchmark: DATABASE_URL from the environment, stops on SIGTERM.
 * BENCH_POLL_MS sets its idle poll (20 ms; the tenants section runs the production default).
 */
import { createLogger } from '@logistics/shared'
import { openDeliveryDatabase } from '../delivery/src/db'
import { createDispatcher } from '../delivery/src/modules/webhooks/dispatcher'

const database = await openDeliveryDatabase(process.env.DATABASE_URL)
const dispatcher = createDispatcher(database.db, createLogger('bench-dispatcher', 'warn'), {
  pollMs: Number(process.env.BENCH_POLL_MS ?? 20),
})
dispatcher.start()
console.log('ready')
process.on('SIGTERM', async () => {
  await dispatcher.stop()
  await database.close()
  process.exit(0)
})
