import { Elysia } from 'elysia'
import { bearerAuth } from '@logistics/shared/http/openapi'
import type { AppDeps } from '../../context'
import { authGuard } from '../auth/routes'
import { problems } from '../common'
import { RegisterRequestSchema, UserSchema } from './model'
import { getUser, registerCustomer } from './service'

export const usersRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'users' })
    .use(authGuard(deps))
    .post(
      '/users',
      async ({ body, set, status }) => {
        const user = await registerCustomer(deps.db, body, deps.passwordHashing)
        set.headers.location = '/me'
        return status(201, user)
      },
      {
        body: RegisterRequestSchema,
        response: { 201: UserSchema, ...problems(409, 422) },
        detail: { tags: ['users'], summary: 'Register as a marketplace user (customer)' },
      },
    )
    .get(
      '/me',
      async ({ requireUser }) => {
        const me = await requireUser()
        return getUser(deps.db, me.id)
      },
      {
        response: { 200: UserSchema, ...problems(401) },
        detail: { tags: ['users'], summary: 'The profile of the logged-in user', security: bearerAuth },
      },
    )
