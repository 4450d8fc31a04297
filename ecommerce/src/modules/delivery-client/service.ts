import { type CreateDeliveryInput, HttpProblem, type Logger, type TrackingResponse, TrackingResponseSchema } from '@logistics/shared'
import ky, { HTTPError, type KyInstance, TimeoutError } from 'ky'
import * as v from 'valibot'
import { type CreatedDelivery, CreatedDeliverySchema, WebhookSubscriptionSchema } from './model'

/** The delivery service as ecommerce uses it. Failures are thrown as 502/503/504 HttpProblems. */
export type DeliveryClient = {
  createDelivery(input: CreateDeliveryInput, options?: CallOptions): Promise<CreatedDelivery>
  getTracking(trackingNumber: string, options?: CallOptions): Promise<TrackingResponse>
  /**
   * Withdraws a delivery still READY_FOR_PICK_UP; an unknown one counts as withdrawn. Throws a 409
   * `already-picked-up` problem once the parcel moved on, 502/503/504 when the call fails.
   */
  deleteDelivery(trackingNumber: string, options?: CallOptions): Promise<void>
  /** The delivery of an order (looked up by foreign order id through POST /tracking); null when none. */
  findDeliveryOfOrder(foreignOrderId: string, options?: CallOptions): Promise<TrackingResponse | null>
  /**
   * Registers a webhook subscription, idempotently; a url already registered with another secret
   * has its secret rotated in place by the delivery service (its pending events are kept). A 4xx
   * answer is thrown as a 502 HttpProblem carrying `upstream_status` and `upstream_detail`.
   */
  registerWebhook(url: string, secret: string, options?: CallOptions): Promise<{ id: string; outcome: 'created' | 'existing' }>
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
  /** The fetch to use (tests route calls to an in-process delivery app). */
  fetch?: typeof fetch
}

/**
 * 503 `delivery-unavailable`: the delivery service down or unavailable itself. Every 503 says when
 * to retry: the upstream's own `Retry-After` when it sent one, else 5 s.
 */
const deliveryUnavailable = (what: string, retryAfter: string | null = null, extra: Record<string, unknown> = {}) =>
  new HttpProblem(503, 'delivery-unavailable', `The delivery service is unavailable (${what}); nothing was changed`, extra, {
    'retry-after': retryAfter ?? '5',
  })

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
    ...(options.fetch ? { fetch: options.fetch } : {}),
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

  /**
   * The problem for an HTTP error answer of the delivery service: 503 `delivery-unavailable` (with its
   * `Retry-After`) when it is unavailable itself (e.g. its database restarting), else 502. Its own
   * `detail` is logged with the request id, never passed on to our caller.
   */
  function answeredError(what: string, response: Response, detail: unknown, o?: CallOptions): HttpProblem {
    const status = response.status
    options.logger?.warn('delivery service answered an error', {
      what,
      status,
      upstream_detail: typeof detail === 'string' ? detail : undefined,
      request_id: o?.requestId,
    })
    if (status === 503) return deliveryUnavailable(what, response.headers.get('retry-after'), { upstream_status: status })
    return new HttpProblem(502, 'delivery-failed', `The delivery service answered ${status} (${what}); nothing was changed`, {
      upstream_status: status,
    })
  }

  /** `answeredError` for an answer read with `throwHttpErrors: false`: its body is read here for the detail. */
  async function unexpectedAnswer(what: string, response: Response, o?: CallOptions): Promise<HttpProblem> {
    const data = (await response.json().catch(() => undefined)) as { detail?: unknown } | undefined
    return answeredError(what, response, data?.detail, o)
  }

  /**
   * Maps a failed call to the problem ecommerce answers: 503 down, 504 timed out, 502 anything else.
   * The upstream's own `detail` is logged (with the request id), never passed on to our caller.
   */
  async function toProblem(error: unknown, what: string, o?: CallOptions): Promise<HttpProblem> {
    if (error instanceof HttpProblem) return error
    if (error instanceof TimeoutError)
      return new HttpProblem(504, 'delivery-timeout', `The delivery service did not answer in time (${what}); nothing was changed`)
    if (error instanceof HTTPError) {
      // ky has read the body into `data` already (the response body itself is consumed).
      const data = error.data as { detail?: unknown } | undefined
      return answeredError(what, error.response, data?.detail, o)
    }
    if (isNetworkFailure(error)) return deliveryUnavailable(what)
    return new HttpProblem(502, 'delivery-failed', `The call to the delivery service failed (${what}); nothing was changed`)
  }

  async function call<T>(what: string, schema: v.GenericSchema<unknown, T>, run: () => Promise<unknown>, o?: CallOptions): Promise<T> {
    let body: unknown
    try {
      body = await run()
    } catch (error) {
      throw await toProblem(error, what, o)
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
        return await call(
          'create delivery',
          CreatedDeliverySchema,
          () => api.post('deliveries', { json: input, headers: headersOf(o) }).json(),
          o,
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
      return call(
        'tracking',
        TrackingResponseSchema,
        () => api.get(`deliveries/${encodeURIComponent(trackingNumber)}/tracking`, { headers: headersOf(o) }).json(),
        o,
      )
    },

    async deleteDelivery(trackingNumber, o) {
      const response = await api
        .delete(`deliveries/${encodeURIComponent(trackingNumber)}`, { headers: headersOf(o), throwHttpErrors: false })
        .catch(async (e) => Promise.reject(await toProblem(e, 'delete delivery', o)))
      if (response.status === 204 || response.status === 404) return
      if (response.status === 409) {
        const body = (await response.json().catch(() => ({}))) as { current_status?: unknown }
        const current = typeof body.current_status === 'string' ? body.current_status : undefined
        throw new HttpProblem(
          409,
          'already-picked-up',
          `The parcel was already picked up${current ? ` (it is ${current})` : ''}: it can no longer be withdrawn`,
          current ? { delivery_status: current } : {},
        )
      }
      throw await unexpectedAnswer('delete delivery', response, o)
    },

    async findDeliveryOfOrder(foreignOrderId, o) {
      const response = await api
        .post('tracking', { json: { foreign_order_id: foreignOrderId }, headers: headersOf(o), throwHttpErrors: false })
        .catch(async (e) => Promise.reject(await toProblem(e, 'find delivery', o)))
      if (response.status === 404) return null
      if (response.status !== 200) throw await unexpectedAnswer('find delivery', response, o)
      return call('find delivery', TrackingResponseSchema, () => response.json(), o)
    },

    async registerWebhook(url, secret, o) {
      const response = await api
        .post('webhooks', { json: { url, secret }, headers: headersOf(o), throwHttpErrors: false })
        .catch(async (e) => Promise.reject(await toProblem(e, 'register webhook')))
      if (response.status === 200 || response.status === 201) {
        const body = await call('register webhook', WebhookSubscriptionSchema, () => response.json())
        return { id: body.id, outcome: response.status === 201 ? ('created' as const) : ('existing' as const) }
      }
      let detail: string | undefined
      try {
        const problem = (await response.json()) as { detail?: unknown; errors?: { path?: unknown; message?: unknown }[] }
        if (typeof problem?.detail === 'string') detail = problem.detail
        const fields = Array.isArray(problem?.errors) ? problem.errors.map((e) => `${e.path}: ${e.message}`).join('; ') : ''
        if (fields) detail = detail ? `${detail} (${fields})` : fields
      } catch {}
      throw new HttpProblem(
        502,
        'delivery-failed',
        `The delivery service answered ${response.status} (register webhook)${detail ? `: ${detail}` : ''}`,
        { upstream_status: response.status, ...(detail === undefined ? {} : { upstream_detail: detail }) },
      )
    },
  }
}
