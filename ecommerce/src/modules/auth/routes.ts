import { Elysia } from 'elysia'
import { ProblemSchema, unauthorized } from '@logistics/shared'
import type { AppDeps } from '../../context'
import { LoginRequestSchema, LoginResponseSchema } from './model'
import { jwtPlugin } from './plugin'
import { authenticate } from './service'

export const authRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'auth' }).use(jwtPlugin(deps)).post(
    '/auth/login',
    async ({ body, jwt }) => {
      const user = await authenticate(deps.db, body.email, body.password, deps.passwordHashing)
      if (!user) throw unauthorized('Wrong email or password')
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
      response: { 200: LoginResponseSchema, 401: ProblemSchema, 422: ProblemSchema },
      detail: { tags: ['auth'], summary: 'Log in with email and password; answers a bearer token' },
    },
  )
