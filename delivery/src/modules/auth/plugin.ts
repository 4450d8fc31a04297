import { Elysia } from 'elysia'
import { unauthorized } from '@logistics/shared'
import { oncePerDb } from '@logistics/shared/db'
import type { DeliveryDb } from '../../db'
import { type ApiClient, findClientByKey } from './service'

/**
 * Bearer API-key authentication: routes behind it get `client`, the calling API client, and answer
 * 401 problem+json without a valid key. Keys are looked up by hash, cached briefly in memory. One
 * plugin (and one cache) per database, shared by every module that uses it.
 */
export const apiKeyAuth = oncePerDb(createApiKeyAuth)

function createApiKeyAuth(db: DeliveryDb) {
  const cache = new Map<string, { client: ApiClient | null; until: number }>()
  return new Elysia({ name: 'api-key-auth' }).resolve({ as: 'scoped' }, async ({ request }) => {
    const header = request.headers.get('authorization') ?? undefined
    const match = header?.match(/^Bearer\s+(\S+)$/i)
    if (!match) throw unauthorized('Send your API key as "Authorization: Bearer <key>"')
    const key = match[1]!
    const now = Date.now()
    let entry = cache.get(key)
    if (!entry || entry.until < now) {
      entry = { client: await findClientByKey(db, key), until: now + 30_000 }
      if (cache.size > 1000) cache.clear()
      cache.set(key, entry)
    }
    if (!entry.client) throw unauthorized('Unknown API key')
    return { client: entry.client }
  })
}
