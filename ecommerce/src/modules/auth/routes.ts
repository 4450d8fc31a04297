import { clientAddress } from '@logistics/shared/http/client-address'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { problems } from '../common'
import { login } from './login-throttle'
import { LoginRequestSchema, LoginResponseSchema } from './model'
import { jwtPlugin } from './plugin'

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
      response: { 200: LoginResponseSchema, ...problems('unauthorized', 'too-many-login-attempts') },
      detail: { tags: ['auth'], operationId: 'login', summary: 'Log in with email and password; answers a bearer token' },
    },
  )
