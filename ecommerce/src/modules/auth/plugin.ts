import { jwt } from '@elysiajs/jwt'
import { forbidden, unauthorized } from '@logistics/shared'
import { bearerAuth } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import type { CurrentUser, Role } from './model'
import { loadActiveUser } from './service'

export const jwtPlugin = (deps: AppDeps) => jwt({ name: 'jwt', secret: deps.config.JWT_SECRET, exp: `${deps.config.JWT_EXPIRES_IN}s` })

type Verifier = { verify(token: string): Promise<false | { sub?: unknown; exp?: unknown }> }

/**
 * Authorization, declared once per route as an option:
 * - `auth: true`: any logged-in user;
 * - `role: ['seller', …]`: a user with one of these roles (403 otherwise).
 * Either checks the bearer token (401 when missing, invalid or expired, or when the user no
 * longer may log in) in the transform stage, before the body, query and path are validated, so a
 * request without valid credentials answers 401 whatever it sends. The handler gets `user`; the
 * route's OpenAPI operation gets its bearer `security`. Ownership stays with the services.
 */
export const authPlugin = (deps: AppDeps) => {
  const users = new WeakMap<Request, Promise<CurrentUser>>()
  const currentUser = (request: Request, verifier: Verifier): Promise<CurrentUser> => {
    let user = users.get(request)
    if (!user) {
      user = authenticate(request, verifier)
      users.set(request, user)
    }
    return user
  }
  async function authenticate(request: Request, verifier: Verifier): Promise<CurrentUser> {
    // request.headers, not the `headers` object: asking for that makes Elysia copy every header
    const match = request.headers.get('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)
    if (!match) throw unauthorized('A bearer token is required')
    const payload = await verifier.verify(match[1]!)
    if (!payload || typeof payload.sub !== 'string' || typeof payload.exp !== 'number')
      throw unauthorized('The token is invalid or expired')
    const found = await loadActiveUser(deps.db, payload.sub)
    if (!found) throw unauthorized('The token is invalid or expired')
    return found
  }
  const requireRole = async (request: Request, verifier: Verifier, roles: readonly Role[]) => {
    const user = await currentUser(request, verifier)
    if (!roles.includes(user.role))
      throw forbidden(`This needs the role ${roles.join(' or ')}; you are ${user.role === 'admin' ? 'an' : 'a'} ${user.role}`)
    return user
  }

  return new Elysia({ name: 'auth-plugin' }).use(jwtPlugin(deps)).macro({
    auth: {
      detail: { security: bearerAuth() },
      async transform({ request, jwt }) {
        await currentUser(request, jwt)
      },
      resolve: async ({ request, jwt }) => ({ user: await currentUser(request, jwt) }),
    },
    role: (roles: readonly Role[]) => ({
      // the roles in the security requirement: the document derives the 403 from them
      detail: { security: bearerAuth(roles) },
      async transform({ request, jwt }) {
        await requireRole(request, jwt, roles)
      },
      resolve: async ({ request, jwt }) => ({ user: await requireRole(request, jwt, roles) }),
    }),
  })
}
