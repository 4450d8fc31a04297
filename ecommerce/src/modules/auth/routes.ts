import { jwt } from '@elysiajs/jwt'
import { Elysia } from 'elysia'
import { ProblemSchema, forbidden, unauthorized } from '@logistics/shared'
import type { AppDeps } from '../../context'
import { type CurrentUser, LoginRequestSchema, LoginResponseSchema, ROLES } from './model'
import { clientAddress, login } from './login-throttle'
import { loadActiveUser } from './service'

type Role = (typeof ROLES)[number]

const jwtPlugin = (deps: AppDeps) =>
  jwt({ name: 'jwt', secret: deps.config.JWT_SECRET, exp: `${deps.config.JWT_EXPIRES_IN}s` })

/**
 * The auth guard of every module: derives `requireUser(...roles)`, which checks the bearer token
 * (401 when missing, invalid or expired, or when the user no longer may log in) and the role
 * (403). The token is only looked at by routes that call it, so public routes ignore it.
 */
export const authGuard = (deps: AppDeps) =>
  new Elysia()
    .use(jwtPlugin(deps))
    .derive({ as: 'scoped' }, ({ request, jwt }) => {
      // request.headers, not the `headers` object: asking for that makes Elysia copy every
      // header of every request on every route behind this guard.
      let user: Promise<CurrentUser> | undefined
      const current = async (): Promise<CurrentUser> => {
        const header = request.headers.get('authorization') ?? undefined
        const match = header?.match(/^Bearer\s+(\S+)\s*$/i)
        if (!match) throw unauthorized('A bearer token is required')
        const payload = await jwt.verify(match[1])
        if (!payload || typeof payload.sub !== 'string') throw unauthorized('The token is invalid or expired')
        const found = await loadActiveUser(deps.db, payload.sub)
        if (!found) throw unauthorized('The token is invalid or expired')
        return found
      }
      return {
        requireUser: async (...roles: Role[]): Promise<CurrentUser> => {
          user ??= current()
          const u = await user
          if (roles.length > 0 && !roles.includes(u.role))
            throw forbidden(`This needs the role ${roles.join(' or ')}; you are ${u.role === 'admin' ? 'an' : 'a'} ${u.role}`)
          return u
        },
      }
    })

export const authRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'auth' }).use(jwtPlugin(deps)).post(
    '/auth/login',
    async ({ body, jwt, request, server }) => {
      const user = await login(deps, body, clientAddress(deps.config, request, server))
      const access_token = await jwt.sign({ sub: user.id, role: user.role })
      return {
        access_token,
        token_type: 'Bearer' as const,
        expires_in: deps.config.JWT_EXPIRES_IN,
        user: { id: user.id, email: user.email, role: user.role, seller_id: user.sellerId },
      }
    },
    {
      body: LoginRequestSchema,
      response: { 200: LoginResponseSchema, 401: ProblemSchema, 422: ProblemSchema, 429: ProblemSchema },
      detail: { tags: ['auth'], summary: 'Log in with email and password; answers a bearer token' },
    },
  )
