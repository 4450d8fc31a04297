import { createHash } from 'node:crypto'
import { eq } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { apiClients } from '../../db/schema'

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex')

/**
 * Creates or updates the API clients named in `DELIVERY_API_KEYS`, idempotently (a client whose key
 * changed gets the new key's hash). Safe when replicas start at once (upsert).
 */
export async function provisionApiClients(db: DeliveryDb, pairs: [name: string, key: string][]) {
  for (const [name, key] of pairs) {
    await db
      .insert(apiClients)
      .values({ name, keyHash: hashApiKey(key) })
      .onConflictDoUpdate({ target: apiClients.name, set: { keyHash: hashApiKey(key) } })
  }
}

export type ApiClient = { id: string; name: string }

/** The client a bearer key belongs to, or null. */
export async function findClientByKey(db: DeliveryDb, key: string): Promise<ApiClient | null> {
  const [row] = await db
    .select({ id: apiClients.id, name: apiClients.name })
    .from(apiClients)
    .where(eq(apiClients.keyHash, hashApiKey(key)))
    .limit(1)
  return row ?? null
}
