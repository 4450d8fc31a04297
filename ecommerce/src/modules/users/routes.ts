import { clientAddress } from '@logistics/shared/http/client-address'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { reserveRegistration } from '../auth/login-throttle'
import { authPlugin } from '../auth/plugin'
import { problems } from '../common'
import { RegisterRequestSchema, UserSchema } from './model'
import { getUser, registerCustomer } from './service'

export const usersRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'users' })
    .use(authPlugin(deps))
    .post(
      '/users',
      async ({ body, set, status, request, server }) => {
        await reserveRegistration(deps, clientAddress(deps.config, request, server))
        const user = await registerCustomer(deps.db, body, deps.passwordHashing)
        set.headers.location = '/me'
        return status(201, user)
      },
      {
        body: RegisterRequestSchema,
        response: { 201: UserSchema, ...problems('email-taken', 'too-many-registrations') },
        detail: {
          tags: ['users'],
          operationId: 'registerCustomer',
          summary: 'Register as a marketplace user (customer)',
          description:
            'At most REGISTRATIONS_PER_ADDRESS registrations per client address in LOGIN_WINDOW_SECONDS (accepted or not): past it 429 `too-many-registrations` with `Retry-After`.',
        },
      },
    )
    .get('/me', ({ user }) => getUser(deps.db, user.id), {
      auth: true,
      response: { 200: UserSchema },
      detail: { tags: ['users'], operationId: 'getCurrentUser', summary: 'The profile of the logged-in user' },
    })
