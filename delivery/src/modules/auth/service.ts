import { createHash } from 'node:crypto'
import { and, eq, isNull, notInArray } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { apiClients } from '../../db/schema'

const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex')

/**
 * Makes the API clients exactly those of `DELIVERY_API_KEYS`, idempotently: each named client is
 * created or updated (a client whose key changed gets the new key's hash) and enabled; every other
 * client is disabled (its key refused with 401, its deliveries and webhooks kept; naming it again
 * enables it). Safe when replicas start at once (upserts, one transaction). Answers the names of
 * the clients it disabled now.
 */
export async function provisionApiClients(db: DeliveryDb, pairs: [name: string, key: string][]): Promise<string[]> {
  return db.transaction(async (tx) => {
    for (const [name, key] of pairs) {
      await tx
        .insert(apiClients)
        .values({ name, keyHash: hashApiKey(key) })
        .onConflictDoUpdate({ target: apiClients.name, set: { keyHash: hashApiKey(key), disabledAt: null } })
    }
    const disabled = await tx
      .update(apiClients)
      .set({ disabledAt: new Date() })
      .where(
        and(
          isNull(apiClients.disabledAt),
          notInArray(
            apiClients.name,
            pairs.map(([name]) => name),
          ),
        ),
      )
      .returning({ name: apiClients.name })
    return disabled.map((c) => c.name)
  })
}

export type ApiClient = { id: string; name: string }

/** The enabled client a bearer key belongs to, or null. */
export async function findClientByKey(db: DeliveryDb, key: string): Promise<ApiClient | null> {
  const [row] = await db
    .select({ id: apiClients.id, name: apiClients.name })
    .from(apiClients)
    .where(and(eq(apiClients.keyHash, hashApiKey(key)), isNull(apiClients.disabledAt)))
    .limit(1)
  return row ?? null
}
