import * as v from 'valibot'
import { documentedAs, Integer, named, schemaName, UriString } from './documented'
import { DeliveryStatusSchema } from './statuses'

/**
 * The contract between the ecommerce and the delivery service, as valibot schemas. One schema
 * serves validation, the TypeScript types (`v.InferOutput`) and the OpenAPI document.
 */

/** A UUID (any case), valibot's rule. */
export const UuidSchema = v.pipe(v.string(), v.uuid())
export const isUuid = (value: string) => v.is(UuidSchema, value)

/**
 * Characters that show nothing: Unicode white space (U+00A0, U+3000…), controls, format characters
 * (zero-width space U+200B, word joiner U+2060, BOM U+FEFF, bidi controls…), other default-ignorable
 * code points (Hangul fillers, variation selectors…) and the blank Braille pattern U+2800.
 */
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]*$/u

/** Whether `value` shows nothing: empty, or invisible characters only (see INVISIBLE_ONLY). */
export const isBlank = (value: string) => INVISIBLE_ONLY.test(value)

/**
 * A required text field: trimmed, 1 to `max` characters, messages naming `label`. Text of
 * invisible characters only counts as empty (a name or an address nobody can see or read).
 */
export const text = (label: string, max: number) =>
  v.pipe(
    v.string(`${label} must be a string`),
    v.trim(),
    v.minLength(1, `${label} must not be empty`),
    // '' is the length check's: one message for it.
    v.check((value) => value === '' || !isBlank(value), `${label} must not be empty`),
    v.maxLength(max, `${label} must be at most ${max} characters`),
  )

const ForeignOrderIdSchema = text('foreign_order_id', 100)
const AddressSchema = text('address', 500)

const DeliveryProductSchema = named(
  'DeliveryProduct',
  v.object({
    sku: text('sku', 64),
    name: text('name', 200),
    qty: v.pipe(
      v.number('qty must be a number'),
      v.integer('qty must be a whole number'),
      v.minValue(1, 'qty must be at least 1'),
      v.maxValue(100_000, 'qty must be at most 100000'),
    ),
  }),
)
export type DeliveryProduct = v.InferOutput<typeof DeliveryProductSchema>

const ProductsSchema = v.pipe(
  v.array(DeliveryProductSchema, 'products must be a list'),
  v.minLength(1, 'products must list at least one product'),
  v.maxLength(500, 'products must list at most 500 products'),
)

const OriginSchema = named('Origin', v.object({ address: AddressSchema }))
const DestinationSchema = named('Destination', v.object({ name: text('name', 200), address: AddressSchema }))

/** Tracking numbers as the delivery service makes them (`TRK-` and three groups of four Crockford base32 characters). */
export const TRACKING_NUMBER_PATTERN = '^TRK-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$'
export const TrackingNumberSchema = named(
  'TrackingNumber',
  v.pipe(v.string(), v.metadata({ pattern: TRACKING_NUMBER_PATTERN, examples: ['TRK-7Q2M-9XKD-4HBT'] })),
)

/** A first-draft spelling of `field`, still accepted: deprecated in the document. */
function alias<T extends v.GenericSchema>(schema: T, field: string) {
  return v.pipe(schema, v.metadata({ deprecated: true, description: `The first-draft spelling of \`${field}\`, still accepted` }))
}

/**
 * `order` of a create-delivery request. The first draft of the contract spelled the id
 * `foreing_order_id`; it is accepted as an alias and normalised to `foreign_order_id`.
 */
const DeliveryOrderInputSchema = v.pipe(
  v.object({
    foreign_order_id: v.optional(ForeignOrderIdSchema),
    foreing_order_id: v.optional(alias(ForeignOrderIdSchema, 'foreign_order_id')),
    products: ProductsSchema,
  }),
  v.metadata({ anyOf: [{ required: ['foreign_order_id'] }, { required: ['foreing_order_id'] }] }),
  v.forward(
    v.check((o) => o.foreign_order_id !== undefined || o.foreing_order_id !== undefined, 'foreign_order_id is required'),
    ['foreign_order_id'],
  ),
  v.forward(
    v.check(
      (o) => o.foreign_order_id === undefined || o.foreing_order_id === undefined || o.foreign_order_id === o.foreing_order_id,
      'foreign_order_id and its alias foreing_order_id differ',
    ),
    ['foreing_order_id'],
  ),
  v.transform(({ foreing_order_id, foreign_order_id, products }) => ({
    foreign_order_id: (foreign_order_id ?? foreing_order_id) as string,
    products,
  })),
)

export const CreateDeliveryRequestSchema = named(
  'CreateDeliveryRequest',
  v.object({
    order: DeliveryOrderInputSchema,
    origin: OriginSchema,
    destination: DestinationSchema,
  }),
)
export type CreateDeliveryRequest = v.InferOutput<typeof CreateDeliveryRequestSchema>
/** What a client sends (before the alias is normalised). */
export type CreateDeliveryInput = v.InferInput<typeof CreateDeliveryRequestSchema>

export const UpdateDeliveryRequestSchema = named(
  'UpdateDeliveryRequest',
  v.pipe(
    v.object({
      origin: v.optional(OriginSchema),
      destination: v.optional(DestinationSchema),
      products: v.optional(ProductsSchema),
    }),
    v.metadata({ minProperties: 1 }),
    v.check(
      (b) => b.origin !== undefined || b.destination !== undefined || b.products !== undefined,
      'give at least one of origin, destination, products',
    ),
  ),
)
export type UpdateDeliveryRequest = v.InferOutput<typeof UpdateDeliveryRequestSchema>

const IsoDate = v.pipe(v.string(), v.isoTimestamp())

/** `tracking_url` of a delivery's answers: its public tracking page. */
const TrackingUrlSchema = v.pipe(
  UriString,
  v.description(
    "`PUBLIC_URL/track/{tracking_number}`: the parcel's public tracking page (status and dates only), for the person waiting for it",
  ),
)

export const DeliverySchema = named(
  'Delivery',
  v.object({
    tracking_number: TrackingNumberSchema,
    status: DeliveryStatusSchema,
    tracking_url: TrackingUrlSchema,
    order: named('DeliveryOrder', v.object({ foreign_order_id: v.string(), products: v.array(DeliveryProductSchema) })),
    origin: OriginSchema,
    destination: DestinationSchema,
    created_at: IsoDate,
    updated_at: IsoDate,
  }),
)
export type Delivery = v.InferOutput<typeof DeliverySchema>

const TrackingEventSchema = named('TrackingEvent', v.object({ status: DeliveryStatusSchema, date: IsoDate }))

export const TrackingResponseSchema = named(
  'Tracking',
  v.object({
    tracking_number: TrackingNumberSchema,
    foreign_order_id: v.string(),
    status: DeliveryStatusSchema,
    tracking_url: TrackingUrlSchema,
    tracking: v.array(TrackingEventSchema),
  }),
)
export type TrackingResponse = v.InferOutput<typeof TrackingResponseSchema>

/** POST /tracking: look a history up by one of the two ids (first-draft spellings accepted). */
export const TrackingLookupSchema = named(
  'TrackingLookup',
  v.pipe(
    v.object({
      foreign_order_id: v.optional(ForeignOrderIdSchema),
      foreing_order_id: v.optional(alias(ForeignOrderIdSchema, 'foreign_order_id')),
      tracking_number: v.optional(text('tracking_number', 64)),
      trackig_number: v.optional(alias(text('trackig_number', 64), 'tracking_number')),
    }),
    // Exactly one of the two ids (each in either spelling).
    v.metadata({
      oneOf: [
        { anyOf: [{ required: ['foreign_order_id'] }, { required: ['foreing_order_id'] }] },
        { anyOf: [{ required: ['tracking_number'] }, { required: ['trackig_number'] }] },
      ],
    }),
    v.check(
      (b) => [b.foreign_order_id ?? b.foreing_order_id, b.tracking_number ?? b.trackig_number].filter((x) => x !== undefined).length === 1,
      'give exactly one of foreign_order_id or tracking_number',
    ),
    v.transform((b) =>
      (b.tracking_number ?? b.trackig_number)
        ? { tracking_number: (b.tracking_number ?? b.trackig_number) as string }
        : { foreign_order_id: (b.foreign_order_id ?? b.foreing_order_id) as string },
    ),
  ),
)

export const WEBHOOK_EVENT_TYPE = 'delivery.status_changed'

/** The event the delivery service POSTs to a webhook on every status change (and ecommerce receives). */
export const WebhookEventSchema = named(
  'DeliveryStatusChangedEvent',
  v.object({
    type: v.literal(WEBHOOK_EVENT_TYPE),
    timestamp: v.pipe(IsoDate, v.description('When the event was written')),
    data: v.object({
      tracking_number: TrackingNumberSchema,
      foreign_order_id: v.string(),
      status: DeliveryStatusSchema,
      previous_status: v.pipe(v.nullable(DeliveryStatusSchema), v.description('null for the first status of a delivery')),
      date: v.pipe(IsoDate, v.description('When the delivery took this status')),
    }),
  }),
)
export type WebhookEvent = v.InferOutput<typeof WebhookEventSchema>

/** GET /health/live of both services: the process serves. */
export const LivenessSchema = named('Liveness', v.object({ status: v.literal('ok') }))

/** The empty body of a 204 answer, for documenting it. */
export const NoContentSchema = v.pipe(v.undefined(), v.description('No content'))

/**
 * `?limit=&offset=&cursor=` of every list: limit 1..100 (default 20), offset 0..MAX_OFFSET
 * (default 0; past the end the page is empty), and the opaque `cursor` a previous page answered
 * as `next_cursor` (keyset paging: constant time at any depth; the offset then counts from the
 * cursor). A cursor that is not one of ours answers 422.
 */
const wholeNumber = (name: string, min: number, max: number, fallback: number, description?: string) =>
  documentedAs(
    v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+$/, `${name} must be a whole number`),
        v.transform(Number),
        v.minValue(min, `${name} must be at least ${min}`),
        v.maxValue(max, `${name} must be at most ${max}`),
      ),
      String(fallback),
    ),
    { type: 'integer', minimum: min, maximum: max, default: fallback, ...(description ? { description } : {}) },
  )

/**
 * The largest `offset`: the largest whole number JSON and JavaScript hold exactly (2^53 − 1);
 * PostgreSQL's OFFSET is a bigint, so every one of them is a valid offset (an empty page past the end).
 */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER

export const PaginationQuerySchema = v.object({
  limit: wholeNumber('limit', 1, 100, 20),
  offset: wholeNumber(
    'offset',
    0,
    MAX_OFFSET,
    0,
    `Rows to skip (from the cursor when one is given), 0 to ${MAX_OFFSET}; past the end the page is empty.`,
  ),
  cursor: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(200, 'cursor must be at most 200 characters'),
      v.description('Opaque: the `next_cursor` of the previous page. Constant time at any depth.'),
    ),
  ),
})
export type Pagination = v.InferOutput<typeof PaginationQuerySchema>

/** Above this many matching rows a list's `total` is the planner's estimate (see `listOf`). */
export const TOTAL_EXACT_UP_TO = 10_000

const pages = new WeakMap<object, v.GenericSchema>()

/**
 * The list envelope `{ data, total, limit, offset, next_cursor }`: one schema per item schema, named
 * `<Item>Page` in the document when the item has a name (`OrderPage`).
 */
export const listOf = <T extends v.GenericSchema>(item: T) => {
  const known = pages.get(item) as ReturnType<typeof envelope<T>> | undefined
  if (known) return known
  const page = envelope(item)
  const name = schemaName(item)
  pages.set(item, name ? named(`${name}Page`, page) : page)
  return page
}

const envelope = <T extends v.GenericSchema>(item: T) =>
  v.object({
    data: v.array(item),
    total: v.pipe(
      Integer,
      v.description(
        `How many rows match, kept cheap at millions of rows: exact up to ${TOTAL_EXACT_UP_TO}; above that (or when PostgreSQL's planner ` +
          `expects more than ${10 * TOTAL_EXACT_UP_TO}), the planner's estimate, never below ${TOTAL_EXACT_UP_TO + 1}. ` +
          'Page with `next_cursor` rather than by `total` at volume.',
      ),
    ),
    limit: Integer,
    offset: Integer,
    next_cursor: v.pipe(
      v.nullable(v.string()),
      v.description('Pass as `?cursor=` for the next page (same filters); null on the last page.'),
    ),
  })

export type ListEnvelope<T> = { data: T[]; total: number; limit: number; offset: number; next_cursor: string | null }
