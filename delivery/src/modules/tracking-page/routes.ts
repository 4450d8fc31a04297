import { HttpProblem } from '@logistics/shared'
import { clientAddress } from '@logistics/shared/http/client-address'
import { checksOwnPathParams } from '@logistics/shared/http/nul-refusal'
import { etagHeader, retryAfterHeader } from '@logistics/shared/http/openapi'
import { requestMeta } from '@logistics/shared/http/request-id'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { problems } from '../../problems'
import { NotModifiedSchema, type PublicTracking, PublicTrackingSchema } from './model'
import { NOT_FOUND_PAGE, newNonce, pageHeaders, tooManyRequestsPage, trackingPage } from './page'
import { createRateLimiter, TRACKING_RATE_LIMIT } from './rate-limit'
import { etagMatches, normalizeTrackingNumber, publicTracking, trackingBody } from './service'

/**
 * How often the page asks for news: a status changes at most once a tick, so a third of the tick
 * (a change shows within that), at least every 30 s, at most every 2 s.
 */
export const pollSeconds = (tickSeconds: number) => Math.min(30, Math.max(2, Math.ceil(tickSeconds / 3)))

type Lookup = { outcome: 'found'; tracking: PublicTracking } | { outcome: 'none' } | { outcome: 'refused'; retryAfterSeconds: number }

const htmlContent = { 'text/html': { schema: { type: 'string' as const } } }

/** The tracking number as a person types or pastes it (the routes read it themselves: `normalizeTrackingNumber`). */
const TRACKING_NUMBER = {
  name: 'tracking_number',
  in: 'path',
  description:
    'The tracking number (`TRK-7Q2M-9XKD-4HBT`): letter case and blanks around it do not matter, and I, L and O read as 1, 1 and 0. ' +
    'Anything that is no tracking number answers the same 404 as an unknown one.',
  schema: { type: 'string' as const },
}

/** `If-None-Match` of a poll: the ETag of the answer the page already shows. */
const IF_NONE_MATCH = {
  name: 'If-None-Match',
  in: 'header',
  required: false,
  description: 'The `ETag` of an earlier answer: while it is current the answer is 304 without a body',
  schema: { type: 'string' as const },
}

/** Headers of the JSON answers (and their problems): not indexed, no referrer, not embeddable. */
const JSON_HEADERS = {
  'x-robots-tag': 'noindex, nofollow',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
}

/**
 * The public tracking page of a parcel, without credentials: `GET /track/{tracking_number}` (HTML)
 * and the JSON it polls, `GET /track/{tracking_number}/status` (ETag / If-None-Match). Status and
 * dates only. Every request of an address draws on one token bucket (rate-limit.ts): a number that
 * shows no parcel costs ten times one that does, so numbers cannot be enumerated; refused: 429
 * with Retry-After. See docs/tracking-page.md.
 */
export function trackingPageRoutes(deps: AppDeps) {
  const { db, config } = deps
  const limiter = createRateLimiter(TRACKING_RATE_LIMIT)
  const poll = pollSeconds(config.STATUS_TICK_SECONDS)
  // Any text that is no tracking number (NUL included) gets the one 404 of a number showing no
  // parcel: `normalizeTrackingNumber` lets only [0-9A-Z-] through to the query.
  checksOwnPathParams('/track/:tracking_number', '/track/:tracking_number/status')

  async function lookup(given: string, request: Request, server: Parameters<typeof clientAddress>[2]): Promise<Lookup> {
    // Requests with no address known (no socket: handed to app.handle) share one bucket.
    const admission = limiter.admit(clientAddress(config, request, server) ?? 'unknown')
    const meta = requestMeta(request)
    if (!admission.ok) {
      if (meta) meta.problem = 'too-many-requests'
      return { outcome: 'refused', retryAfterSeconds: admission.retryAfterSeconds }
    }
    const trackingNumber = normalizeTrackingNumber(given)
    let tracking: PublicTracking | null
    try {
      tracking = trackingNumber ? await publicTracking(db, trackingNumber) : null
    } catch (error) {
      admission.hit() // the database failed (a 503 to retry): that is no miss of the client's
      throw error
    }
    if (!tracking) {
      if (meta) meta.problem = 'not-found'
      return { outcome: 'none' }
    }
    admission.hit()
    return { outcome: 'found', tracking }
  }

  return new Elysia({ name: 'tracking-page' })
    .get(
      '/track/:tracking_number',
      async ({ params, request, server }) => {
        const found = await lookup(params.tracking_number, request, server)
        if (found.outcome === 'refused')
          return new Response(tooManyRequestsPage(found.retryAfterSeconds), {
            status: 429,
            headers: { ...pageHeaders(), 'retry-after': String(found.retryAfterSeconds) },
          })
        if (found.outcome === 'none') return new Response(NOT_FOUND_PAGE, { status: 404, headers: pageHeaders() })
        const nonce = newNonce()
        const page = trackingPage({
          trackingNumber: found.tracking.tracking_number,
          facts: found.tracking,
          etag: trackingBody(found.tracking).etag,
          pollSeconds: poll,
          nonce,
          now: new Date(),
        })
        return new Response(page, { status: 200, headers: pageHeaders(nonce) })
      },
      {
        detail: {
          tags: ['tracking'],
          operationId: 'getTrackingPage',
          parameters: [TRACKING_NUMBER],
          summary: "The parcel's public tracking page (HTML, live), no credentials",
          description:
            'Status in words, the progress line and the dated history (newest first, shown in the reader’s locale and time zone), ' +
            'and nothing else: no name, address, product or order id. The page asks `GET /track/{tracking_number}/status` for news ' +
            'while open (and stops once delivered); without JavaScript it is a static page. Letter case and blanks do not matter. ' +
            'Unknown, malformed and withdrawn numbers get the same 404 page. Requests are rate-limited per client address ' +
            `(a bucket of ${TRACKING_RATE_LIMIT.capacity} tokens refilled at ${TRACKING_RATE_LIMIT.refillPerSecond} a second; ` +
            `a page or poll that finds its parcel costs ${TRACKING_RATE_LIMIT.hitCost}, one that does not ${TRACKING_RATE_LIMIT.missCost}).`,
          responses: {
            200: { description: 'The tracking page', content: htmlContent },
            404: { description: 'No parcel to show: unknown, malformed or withdrawn number (one page for all)', content: htmlContent },
            429: {
              description: 'Too many lookups from this address: wait `Retry-After` seconds',
              headers: retryAfterHeader,
              content: htmlContent,
            },
          },
        },
      },
    )
    .get(
      '/track/:tracking_number/status',
      async ({ params, request, server }) => {
        const found = await lookup(params.tracking_number, request, server)
        if (found.outcome === 'refused')
          throw new HttpProblem(
            429,
            'too-many-requests',
            `Too many tracking lookups from this address; try again in ${found.retryAfterSeconds} s`,
            {},
            { ...JSON_HEADERS, 'retry-after': String(found.retryAfterSeconds) },
          )
        if (found.outcome === 'none')
          throw new HttpProblem(404, 'not-found', 'No parcel to show for this tracking number', {}, JSON_HEADERS)
        const { body, etag } = trackingBody(found.tracking)
        const headers = { ...JSON_HEADERS, etag }
        if (etagMatches(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers })
        return new Response(body, { status: 200, headers: { ...headers, 'content-type': 'application/json' } })
      },
      {
        response: { 200: PublicTrackingSchema, 304: NotModifiedSchema, ...problems('not-found', 'too-many-requests') },
        detail: {
          tags: ['tracking'],
          operationId: 'getTrackingStatus',
          parameters: [TRACKING_NUMBER, IF_NONE_MATCH],
          responses: {
            200: { description: 'The status and the dated history', headers: etagHeader },
            304: { description: 'Not modified: the `If-None-Match` ETag is current (no body)', headers: etagHeader },
          },
          summary: "The parcel's public status and history (what its tracking page shows), no credentials",
          description:
            'Status and dates only. Answers an `ETag`; send it back in `If-None-Match` and an unchanged parcel answers 304 without a body ' +
            '(the tracking page polls this way). Same rate limit, per client address, as the page; unknown, malformed and withdrawn ' +
            'numbers answer the same 404.',
        },
      },
    )
}
