import { unauthorized } from '@logistics/shared'
import { oncePerDb } from '@logistics/shared/db'
import { bearerAuth } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import type { AppDeps, DeliveryDb } from '../../context'
import { type ApiClient, findClientByKey } from './service'

/**
 * Bearer API-key authentication, declared once per route with the option `apiKey: true`: the
 * key is checked in the transform stage, before the body, query and path are validated (a
 * request without a valid key answers 401 problem+json whatever it sends); the handler gets
 * `client`, the calling API client; the route's OpenAPI operation gets its bearer `security`.
 * Keys are looked up by hash, cached briefly in memory. One plugin (and one cache) per database,
 * shared by every module that uses it.
 */
export const authPlugin = (deps: Pick<AppDeps, 'db'>) => authOf(deps.db).plugin

/**
 * The API client of a request, checked once per request: by the `apiKey` macro and by the JSON
 * body parser before it reads a body (`jsonBody`'s `authenticate`), so a request without a valid
 * key answers 401 before any byte of its body is read.
 */
export const apiClientOf = (deps: Pick<AppDeps, 'db'>) => authOf(deps.db).clientOf

const authOf = oncePerDb(createAuth)

function createAuth(db: DeliveryDb) {
  const cache = new Map<string, { client: ApiClient | null; until: number }>()
  const clients = new WeakMap<Request, Promise<ApiClient>>()

  async function authenticate(request: Request): Promise<ApiClient> {
    const match = request.headers.get('authorization')?.match(/^Bearer\s+(\S+)$/i)
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
    return entry.client
  }
  const clientOf = (request: Request) => {
    let client = clients.get(request)
    if (!client) {
      client = authenticate(request)
      // Nobody may be waiting for it yet (the parser only asks): no unhandled rejection.
      client.catch(() => {})
      clients.set(request, client)
    }
    return client
  }

  const plugin = new Elysia({ name: 'auth-plugin' }).macro({
    apiKey: {
      detail: { security: bearerAuth() },
      async transform({ request }) {
        await clientOf(request)
      },
      resolve: async ({ request }) => ({ client: await clientOf(request) }),
    },
  })
  return { plugin, clientOf }
}
