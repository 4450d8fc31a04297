import { unprocessable } from '@logistics/shared'
import { locationHeader } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import * as v from 'valibot'
import type { AppDeps } from '../../context'
import { authPlugin } from '../auth/plugin'
import { IdParamsSchema, problems } from '../common'
import { IdempotencyKeySchema, PurchaseRequestSchema, PurchaseSchema } from './model'
import { createPurchaseQueue } from './queue'
import { getPurchase, purchase } from './service'

export const purchasesRoutes = (deps: AppDeps) => {
  // Purchases take turns in the service, in a bounded queue (queue.ts).
  const queue = createPurchaseQueue({
    concurrency: deps.config.PURCHASE_CONCURRENCY,
    perCustomer: deps.config.PURCHASES_PER_CUSTOMER,
    waiting: deps.config.PURCHASE_QUEUE_LIMIT,
  })
  deps.metrics.watchPurchaseQueue(queue)
  return new Elysia({ name: 'purchases' })
    .use(authPlugin(deps))
    .post(
      '/purchases',
      async ({ body, headers, user: customer, set, status }) => {
        const rawKey = headers['idempotency-key']
        let key: string | undefined
        if (rawKey !== undefined) {
          const parsed = v.safeParse(IdempotencyKeySchema, rawKey)
          if (!parsed.success) throw unprocessable([{ path: 'Idempotency-Key', message: parsed.issues[0].message }])
          key = parsed.output
        }
        const result = await deps.metrics.purchase(queue.run(customer.id, () => purchase(deps.db, customer, body, key)))
        set.headers.location = `/purchases/${result.body.id}`
        if (result.replayed) set.headers['idempotent-replayed'] = 'true'
        return status(201, result.body)
      },
      {
        role: ['customer'],
        body: PurchaseRequestSchema,
        response: {
          201: PurchaseSchema,
          ...problems('insufficient-stock', 'idempotency-key-reused', 'idempotency-key-in-use', 'too-many-purchases', 'purchases-busy'),
        },
        detail: {
          tags: ['purchases'],
          operationId: 'createPurchase',
          summary: 'Buy products of one or several sellers (customer); one order per seller',
          description:
            'One transaction: when any product is short the purchase answers 409 `insufficient-stock` naming each short product, and nothing changes. ' +
            'Send an `Idempotency-Key` header to make retries safe: the same key and body answer the first result again; the same key with another body answers 409. ' +
            'Purchases take turns: a customer with PURCHASES_PER_CUSTOMER purchases in progress gets 429 `too-many-purchases`, and when PURCHASE_QUEUE_LIMIT purchases already wait the answer is 503 `purchases-busy`; both with `Retry-After`, and nothing changes.',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'Any unique string per purchase (a UUID): a retry with the same key and body answers the first result',
              schema: IdempotencyKeySchema as never,
            },
          ],
          responses: {
            201: {
              description: 'Created: one order per seller (or, for a repeated `Idempotency-Key`, the first result again)',
              headers: {
                ...locationHeader,
                'Idempotent-Replayed': {
                  description: '`true` when the answer is the stored result of an earlier request with this `Idempotency-Key`',
                  schema: { type: 'string', enum: ['true'] },
                },
              },
            },
          },
        },
      },
    )
    .get('/purchases/:id', ({ params, user }) => getPurchase(deps.db, user, params.id), {
      auth: true,
      params: IdParamsSchema,
      response: { 200: PurchaseSchema },
      detail: { tags: ['purchases'], operationId: 'getPurchase', summary: 'View a purchase and its orders (its customer; admin)' },
    })
}
