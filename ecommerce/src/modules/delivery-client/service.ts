import ky, { HTTPError, type KyInstance, TimeoutError } from 'ky'
import * as v from 'valibot'
import { type CreateDeliveryInput, HttpProblem, type Logger, type TrackingResponse, TrackingResponseSchema } from '@logistics/shared'
import { type CreatedDelivery, CreatedDeliverySchema, WebhookListSchema, WebhookSubscriptionSchema } from './model'

/** The delivery service as ecommerce uses it. Failures are thrown as 502/503/504 HttpProblems. */
export type DeliveryClient = {
  createDelivery(input: CreateDeliveryInput, options?: CallOptions): Promise<CreatedDelivery>
  getTracking(trackingNumber: string, options?: CallOptions): Promise<TrackingResponse>
  /** Deletes a delivery (a dispatch that lost its order); an unknown one counts as deleted. */
  deleteDelivery(trackingNumber: string, options?: CallOptions): Promise<void>
  /** Registers (or re-registers with a new secret) a webhook subscription; idempotent. */
  registerWebhook(url: string, secret: string, options?: CallOptions): Promise<{ id: string; outcome: 'created' | 'existing' | 'replaced' }>
}

export type CallOptions = { requestId?: string }

export type DeliveryClientOptions = {
  baseUrl: string
  apiKey: string
  /** Per-attempt timeout (ms); 5 s by default. */
  timeoutMs?: number
  /** Retries on network errors only (never on an HTTP answer or a timeout). */
  retries?: number
  retryDelayMs?: number
  logger?: Logger
}

/** A request that never got an HTTP answer (connection refused or reset, DNS…). */
const isNetworkFailure = (error: unknown) =>
  !(error instanceof HTTPError) &&
  !(error instanceof TimeoutError) &&
  error instanceof Error &&
  (error.name === 'NetworkError' || error.name === 'TypeError')

export function createDeliveryClient(options: DeliveryClientOptions): DeliveryClient {
  const retryDelay = options.retryDelayMs ?? 200
  const api: KyInstance = ky.create({
    baseUrl: options.baseUrl.replace(/\/?$/, '/'),
    timeout: options.timeoutMs ?? 5000,
    headers: { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' },
    retry: {
      limit: options.retries ?? 2,
      methods: ['get', 'post', 'delete'],
      statusCodes: [],
      retryOnTimeout: false,
      delay: (attempt) => retryDelay * 2 ** (attempt - 1),
      shouldRetry: ({ error }) => isNetworkFailure(error),
    },
  })

  const headersOf = (o?: CallOptions): Record<string, string> => (o?.requestId ? { 'x-request-id': o.requestId } : {})

  /** Maps a failed call to the problem ecommerce answers: 503 down, 504 timed out, 502 anything else. */
  async function toProblem(error: unknown, what: string): Promise<HttpProblem> {
    if (error instanceof HttpProblem) return error
    if (error instanceof TimeoutError)
      return new HttpProblem(504, 'delivery-timeout', `The delivery service did not answer in time (${what}); nothing was changed`)
    if (error instanceof HTTPError) {
      const status = error.response.status
      let detail = ''
      try {
        const body = (await error.response.clone().json()) as { detail?: unknown }
        if (typeof body?.detail === 'string') detail = `: ${body.detail}`
      } catch {}
      options.logger?.warn('delivery service answered an error', { what, status, detail })
      // Its database restarting (503 database-unavailable): unavailable too, to be retried.
      if (status === 503)
        return new HttpProblem(503, 'delivery-unavailable', `The delivery service is unavailable (${what})${detail}; nothing was changed`, {
          upstream_status: status,
        }, { 'retry-after': error.response.headers.get('retry-after') ?? '5' })
      return new HttpProblem(502, 'delivery-failed', `The delivery service answered ${status} (${what})${detail}; nothing was changed`, {
        upstream_status: status,
      })
    }
    if (isNetworkFailure(error))
      return new HttpProblem(503, 'delivery-unavailable', `The delivery service is unavailable (${what}); nothing was changed`)
    return new HttpProblem(502, 'delivery-failed', `The call to the delivery service failed (${what}); nothing was changed`)
  }

  async function call<T>(what: string, schema: v.GenericSchema<unknown, T>, run: () => Promise<unknown>): Promise<T> {
    let body: unknown
    try {
      body = await run()
    } catch (error) {
      throw await toProblem(error, what)
    }
    const parsed = v.safeParse(schema, body)
    if (!parsed.success) {
      options.logger?.warn('unexpected answer from the delivery service', { what, issues: parsed.issues.map((i) => i.message) })
      throw new HttpProblem(502, 'delivery-bad-response', `The delivery service gave an unexpected answer (${what})`)
    }
    return parsed.output
  }

  return {
    async createDelivery(input, o) {
      try {
        return await call('create delivery', CreatedDeliverySchema, () =>
          api.post('deliveries', { json: input, headers: headersOf(o) }).json(),
        )
      } catch (error) {
        if (error instanceof HttpProblem && error.extensions.upstream_status === 409)
          throw new HttpProblem(
            502,
            'delivery-conflict',
            'The delivery service already has a different delivery for this order (409); nothing was changed here',
            { upstream_status: 409 },
          )
        throw error
      }
    },

    getTracking(trackingNumber, o) {
      return call('tracking', TrackingResponseSchema, () =>
        api.get(`deliveries/${encodeURIComponent(trackingNumber)}/tracking`, { headers: headersOf(o) }).json(),
      )
    },

    async deleteDelivery(trackingNumber, o) {
      const response = await api
        .delete(`deliveries/${encodeURIComponent(trackingNumber)}`, { headers: headersOf(o), throwHttpErrors: false })
        .catch(async (e) => Promise.reject(await toProblem(e, 'delete delivery')))
      if (response.status !== 204 && response.status !== 404)
        throw new HttpProblem(502, 'delivery-failed', `The delivery service answered ${response.status} (delete delivery)`, {
          upstream_status: response.status,
        })
    },

    async registerWebhook(url, secret, o) {
      const post = () => api.post('webhooks', { json: { url, secret }, headers: headersOf(o), throwHttpErrors: false })
      const first = await post().catch(async (e) => Promise.reject(await toProblem(e, 'register webhook')))
      if (first.status === 200 || first.status === 201) {
        const body = await call('register webhook', WebhookSubscriptionSchema, () => first.json())
        return { id: body.id, outcome: first.status === 201 ? ('created' as const) : ('existing' as const) }
      }
      if (first.status !== 409)
        throw new HttpProblem(502, 'delivery-failed', `The delivery service answered ${first.status} (register webhook)`, {
          upstream_status: first.status,
        })
      // The url is registered with another secret: remove that subscription and register again.
      const pageSize = 100
      for (let offset = 0; ; offset += pageSize) {
        const page = await call('list webhooks', WebhookListSchema, () =>
          api.get('webhooks', { searchParams: { limit: pageSize, offset }, headers: headersOf(o) }).json(),
        )
        const existing = page.data.find((w) => w.url === url)
        if (existing) {
          await call('delete webhook', v.unknown(), () =>
            api.delete(`webhooks/${encodeURIComponent(existing.id)}`, { headers: headersOf(o) }).then(() => null),
          )
          break
        }
        if (page.data.length < pageSize) break
      }
      const again = await call('register webhook', WebhookSubscriptionSchema, () =>
        api.post('webhooks', { json: { url, secret }, headers: headersOf(o) }).json(),
      )
      return { id: again.id, outcome: 'replaced' as const }
    },
  }
}
