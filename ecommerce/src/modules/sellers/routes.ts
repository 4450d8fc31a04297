import { listOf, NoContentSchema, PaginationQuerySchema } from '@logistics/shared'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { authPlugin } from '../auth/plugin'
import { IdParamsSchema, problems } from '../common'
import { UserSchema } from '../users/model'
import {
  AddSellerUserRequestSchema,
  CreatedSellerSchema,
  CreateSellerRequestSchema,
  SellerSchema,
  SellerUserParamsSchema,
  UpdateSellerRequestSchema,
} from './model'
import {
  addSellerUser,
  createSeller,
  deleteSeller,
  getSellerUser,
  getVisibleSeller,
  listSellers,
  listSellerUsers,
  toSellerJson,
  updateSeller,
} from './service'

const tags = ['sellers']

export const sellersRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'sellers' })
    .use(authPlugin(deps))
    .post(
      '/sellers',
      async ({ body, set, status }) => {
        const seller = await createSeller(deps.db, body, deps.passwordHashing)
        set.headers.location = `/sellers/${seller.id}`
        return status(201, seller)
      },
      {
        role: ['admin'],
        body: CreateSellerRequestSchema,
        response: { 201: CreatedSellerSchema, ...problems('email-taken') },
        detail: {
          tags,
          operationId: 'createSeller',
          summary: 'Create a seller with its Seller Administrator Users (admin)',
          description: 'The seller and its users are created in one transaction: a taken email answers 409 and creates nothing.',
        },
      },
    )
    .get('/sellers', ({ query, user }) => listSellers(deps.db, user, query), {
      role: ['admin', 'seller'],
      query: PaginationQuerySchema,
      response: { 200: listOf(SellerSchema) },
      detail: { tags, operationId: 'listSellers', summary: 'List sellers (admin: all; seller user: its own)' },
    })
    .get('/sellers/:id', async ({ params, user }) => toSellerJson(await getVisibleSeller(deps.db, user, params.id)), {
      role: ['admin', 'seller'],
      params: IdParamsSchema,
      response: { 200: SellerSchema },
      detail: { tags, operationId: 'getSeller', summary: 'View a seller (admin; seller user: its own)' },
    })
    .patch('/sellers/:id', ({ params, body, user }) => updateSeller(deps.db, user, params.id, body), {
      role: ['admin', 'seller'],
      params: IdParamsSchema,
      body: UpdateSellerRequestSchema,
      response: { 200: SellerSchema },
      detail: { tags, operationId: 'updateSeller', summary: 'Edit name, description or warehouse address (admin; seller user: its own)' },
    })
    .delete(
      '/sellers/:id',
      async ({ params, status }) => {
        await deleteSeller(deps.db, params.id)
        return status(204, undefined)
      },
      {
        role: ['admin'],
        params: IdParamsSchema,
        response: { 204: NoContentSchema },
        detail: {
          tags,
          operationId: 'deleteSeller',
          summary: 'Delete a seller (admin)',
          description: 'A soft delete: its orders keep their history, its products leave the catalogue and its users can no longer log in.',
        },
      },
    )
    .post(
      '/sellers/:id/users',
      async ({ params, body, user, set, status }) => {
        const created = await addSellerUser(deps.db, user, params.id, body, deps.passwordHashing)
        set.headers.location = `/sellers/${params.id}/users/${created.id}`
        return status(201, created)
      },
      {
        role: ['admin', 'seller'],
        params: IdParamsSchema,
        body: AddSellerUserRequestSchema,
        response: { 201: UserSchema, ...problems('email-taken') },
        detail: { tags, operationId: 'createSellerUser', summary: "Add a seller user (admin; the seller's Seller Administrator Users)" },
      },
    )
    .get('/sellers/:id/users', ({ params, query, user }) => listSellerUsers(deps.db, user, params.id, query), {
      role: ['admin', 'seller'],
      params: IdParamsSchema,
      query: PaginationQuerySchema,
      response: { 200: listOf(UserSchema) },
      detail: { tags, operationId: 'listSellerUsers', summary: "List a seller's users (admin; the seller's Seller Administrator Users)" },
    })
    .get('/sellers/:id/users/:user_id', ({ params, user }) => getSellerUser(deps.db, user, params.id, params.user_id), {
      role: ['admin', 'seller'],
      params: SellerUserParamsSchema,
      response: { 200: UserSchema },
      detail: {
        tags,
        operationId: 'getSellerUser',
        summary: "View a seller user (admin; the seller's Seller Administrator Users)",
        description: 'Where `POST /sellers/{id}/users` points its `Location`. A user of another seller, or no user, answers 404.',
      },
    })
