import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { authPlugin } from '../auth/plugin'
import { problems } from '../common'
import { RegisterRequestSchema, UserSchema } from './model'
import { getUser, registerCustomer } from './service'

export const usersRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'users' })
    .use(authPlugin(deps))
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
    .get('/me', ({ user }) => getUser(deps.db, user.id), {
      auth: true,
      response: { 200: UserSchema, ...problems(401) },
      detail: { tags: ['users'], summary: 'The profile of the logged-in user' },
    })
