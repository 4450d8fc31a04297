import { jwt } from '@elysiajs/jwt'
import { forbidden, unauthorized } from '@logistics/shared'
import { bearerAuth } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import type { CurrentUser, Role } from './model'
import { loadActiveUser } from './service'

export const jwtPlugin = (deps: AppDeps) => jwt({ name: 'jwt', secret: deps.config.JWT_SECRET, exp: `${deps.config.JWT_EXPIRES_IN}s` })

/**
 * The current user of a request, from its bearer token: checked once per request (memoized), by
 * the auth macros below and by the JSON body parser before it reads a body (`jsonBody`'s
 * `authenticate`), so a request without valid credentials answers 401 before any byte of its body
 * is read. 401 when the token is missing, invalid or expired, or when the user no longer may log in.
 * One per app (its dependencies).
 */
export const currentUserOf = (deps: AppDeps) => {
  let of = authenticators.get(deps)
  if (!of) {
    of = createAuthenticator(deps)
    authenticators.set(deps, of)
  }
  return of
}

const authenticators = new WeakMap<AppDeps, (request: Request) => Promise<CurrentUser>>()

function createAuthenticator(deps: AppDeps) {
  const verifier = jwtPlugin(deps).decorator.jwt
  const users = new WeakMap<Request, Promise<CurrentUser>>()
  async function authenticate(request: Request): Promise<CurrentUser> {
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
  return (request: Request): Promise<CurrentUser> => {
    let user = users.get(request)
    if (!user) {
      user = authenticate(request)
      // Nobody may be waiting for it yet (the parser only asks): no unhandled rejection.
      user.catch(() => {})
      users.set(request, user)
    }
    return user
  }
}

/**
 * Authorization, declared once per route as an option:
 * - `auth: true`: any logged-in user;
 * - `role: ['seller', …]`: a user with one of these roles (403 otherwise).
 * Either checks the bearer token (`currentUserOf`) in the transform stage, before the body, query
 * and path are validated (and the body parser checks it before reading the body), so a request
 * without valid credentials answers 401 whatever it sends. The handler gets `user`; the route's
 * OpenAPI operation gets its bearer `security`. Ownership stays with the services.
 */
export const authPlugin = (deps: AppDeps) => {
  const currentUser = currentUserOf(deps)
  const requireRole = async (request: Request, roles: readonly Role[]) => {
    const user = await currentUser(request)
    if (!roles.includes(user.role))
      throw forbidden(`This needs the role ${roles.join(' or ')}; you are ${user.role === 'admin' ? 'an' : 'a'} ${user.role}`)
    return user
  }

  return new Elysia({ name: 'auth-plugin' }).macro({
    auth: {
      detail: { security: bearerAuth() },
      async transform({ request }) {
        await currentUser(request)
      },
      resolve: async ({ request }) => ({ user: await currentUser(request) }),
    },
    role: (roles: readonly Role[]) => ({
      // the roles in the security requirement: the document derives the 403 from them
      detail: { security: bearerAuth(roles) },
      async transform({ request }) {
        await requireRole(request, roles)
      },
      resolve: async ({ request }) => ({ user: await requireRole(request, roles) }),
    }),
  })
}
