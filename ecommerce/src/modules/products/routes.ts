import { listOf, NoContentSchema } from '@logistics/shared'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { authPlugin } from '../auth/plugin'
import { IdParamsSchema, problems } from '../common'
import { CreateProductRequestSchema, ProductListQuerySchema, ProductSchema, UpdateProductRequestSchema } from './model'
import { createProduct, deleteProduct, getProduct, listProducts, updateProduct } from './service'

const tags = ['products']

export const productsRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'products' })
    .use(authPlugin(deps))
    .get('/products', ({ query }) => listProducts(deps.db, query), {
      query: ProductListQuerySchema,
      response: { 200: listOf(ProductSchema) },
      detail: { tags, operationId: 'listProducts', summary: 'The public catalogue; filter by `seller_id`' },
    })
    .get('/products/:id', ({ params }) => getProduct(deps.db, params.id), {
      params: IdParamsSchema,
      response: { 200: ProductSchema },
      detail: { tags, operationId: 'getProduct', summary: 'View a product of the catalogue' },
    })
    .post(
      '/products',
      async ({ body, user, set, status }) => {
        const product = await createProduct(deps.db, user, body)
        set.headers.location = `/products/${product.id}`
        return status(201, product)
      },
      {
        role: ['seller'],
        body: CreateProductRequestSchema,
        response: { 201: ProductSchema, ...problems('warehouse-address-required', 'sku-taken', 'not-found') },
        detail: {
          tags,
          operationId: 'createProduct',
          summary: "Create a product of the seller user's seller",
          description: '409 `warehouse-address-required` until the seller has a warehouse address; 409 `sku-taken` when the sku exists.',
        },
      },
    )
    .patch('/products/:id', ({ params, body, user }) => updateProduct(deps.db, user, params.id, body), {
      role: ['seller'],
      params: IdParamsSchema,
      body: UpdateProductRequestSchema,
      response: { 200: ProductSchema, ...problems('sku-taken') },
      detail: { tags, operationId: 'updateProduct', summary: 'Edit an own product (seller user)' },
    })
    .delete(
      '/products/:id',
      async ({ params, user, status }) => {
        await deleteProduct(deps.db, user, params.id)
        return status(204, undefined)
      },
      {
        role: ['seller'],
        params: IdParamsSchema,
        response: { 204: NoContentSchema },
        detail: { tags, operationId: 'deleteProduct', summary: 'Delete an own product (seller user); it leaves the catalogue' },
      },
    )
