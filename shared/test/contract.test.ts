import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import * as v from 'valibot'
import {
  CreateDeliveryRequestSchema,
  isBlank,
  PaginationQuerySchema,
  TrackingLookupSchema,
  TrackingResponseSchema,
  text,
  WebhookEventSchema,
} from '../src/contract'
import { DELIVERY_STATUSES, DELIVERY_TRANSITIONS, isFinalDeliveryStatus } from '../src/statuses'

const valid = {
  order: { foreign_order_id: 'ord-1', products: [{ sku: 'A-1', name: 'Kettle', qty: 2 }] },
  origin: { address: 'Dock 4, Rotterdam' },
  destination: { name: 'Ada', address: '12 St James Sq, London' },
}

describe('create-delivery request', () => {
  test('accepts the contract body and trims text', () => {
    const out = v.parse(CreateDeliveryRequestSchema, { ...valid, destination: { name: '  Ada ', address: 'x' } })
    expect(out.destination.name).toBe('Ada')
    expect(out.order.foreign_order_id).toBe('ord-1')
  })

  test('normalises the first-draft spelling foreing_order_id', () => {
    const out = v.parse(CreateDeliveryRequestSchema, { ...valid, order: { foreing_order_id: 'ord-9', products: valid.order.products } })
    expect(out.order).toEqual({ foreign_order_id: 'ord-9', products: valid.order.products })
  })

  test('rejects both spellings with different values, a missing id, no products, qty < 1', () => {
    const bad = [
      { ...valid, order: { ...valid.order, foreing_order_id: 'other' } },
      { ...valid, order: { products: valid.order.products } },
      { ...valid, order: { foreign_order_id: 'x', products: [] } },
      { ...valid, order: { foreign_order_id: 'x', products: [{ sku: 'a', name: 'b', qty: 0 }] } },
      { ...valid, order: { foreign_order_id: 'x', products: [{ sku: 'a', name: 'b', qty: 1.5 }] } },
      { ...valid, destination: { name: '', address: 'x' } },
    ]
    for (const body of bad) expect(v.safeParse(CreateDeliveryRequestSchema, body).success).toBe(false)
  })
})

describe('tracking lookup', () => {
  test('takes exactly one of the two ids, in either spelling', () => {
    expect(v.parse(TrackingLookupSchema, { foreign_order_id: 'a' })).toEqual({ foreign_order_id: 'a' })
    expect(v.parse(TrackingLookupSchema, { foreing_order_id: 'a' })).toEqual({ foreign_order_id: 'a' })
    expect(v.parse(TrackingLookupSchema, { trackig_number: 'T' })).toEqual({ tracking_number: 'T' })
    expect(v.safeParse(TrackingLookupSchema, {}).success).toBe(false)
    expect(v.safeParse(TrackingLookupSchema, { tracking_number: 'T', foreign_order_id: 'a' }).success).toBe(false)
  })
})

describe('responses and events', () => {
  test('a tracking response and a webhook event of the contract parse; an unknown status does not', () => {
    const date = new Date().toISOString()
    expect(
      v.safeParse(TrackingResponseSchema, {
        tracking_number: 'T',
        foreign_order_id: 'o',
        status: 'IN_ORIGIN',
        tracking_url: 'http://localhost:3001/track/T',
        tracking: [{ status: 'READY_FOR_PICK_UP', date }],
      }).success,
    ).toBe(true)
    const event = {
      type: 'delivery.status_changed',
      timestamp: date,
      data: { tracking_number: 'T', foreign_order_id: 'o', status: 'DELIVERED', previous_status: 'IN_ROUTE_OF_DELIVERY', date },
    }
    expect(v.safeParse(WebhookEventSchema, event).success).toBe(true)
    expect(v.safeParse(WebhookEventSchema, { ...event, data: { ...event.data, status: 'LOST' } }).success).toBe(false)
  })
})

describe('pagination', () => {
  test('defaults to limit 20 offset 0, caps limit at 100, refuses non-numbers', () => {
    expect(v.parse(PaginationQuerySchema, {})).toEqual({ limit: 20, offset: 0 })
    expect(v.parse(PaginationQuerySchema, { limit: '100', offset: '5' })).toEqual({ limit: 100, offset: 5 })
    for (const q of [{ limit: '101' }, { limit: '0' }, { limit: 'ten' }, { offset: '-1' }, { limit: '1e3' }])
      expect(v.safeParse(PaginationQuerySchema, q).success).toBe(false)
  })
})

describe('status table', () => {
  test('DELIVERED is the only final status and every status is reachable from READY_FOR_PICK_UP', () => {
    expect(DELIVERY_STATUSES.filter(isFinalDeliveryStatus)).toEqual(['DELIVERED'])
    const seen = new Set(['READY_FOR_PICK_UP'])
    const queue = ['READY_FOR_PICK_UP'] as (keyof typeof DELIVERY_TRANSITIONS)[]
    while (queue.length)
      for (const n of DELIVERY_TRANSITIONS[queue.shift()!])
        if (!seen.has(n)) {
          seen.add(n)
          queue.push(n)
        }
    expect([...seen].sort()).toEqual([...DELIVERY_STATUSES].sort())
  })
})

describe('required text: invisible characters only count as empty', () => {
  /** White space, controls, format characters, default-ignorable code points, the blank Braille pattern. */
  const INVISIBLE = [
    ' ',
    '\t',
    '\n',
    '\r',
    '\u000b',
    '\u000c',
    '\u0001',
    '\u007f',
    '\u0085',
    '\u00a0',
    '\u00ad',
    '\u034f',
    '\u115f',
    '\u1160',
    '\u1680',
    '\u180e',
    '\u2000',
    '\u200a',
    '\u200b',
    '\u200c',
    '\u200d',
    '\u200e',
    '\u200f',
    '\u2028',
    '\u2029',
    '\u202a',
    '\u202e',
    '\u202f',
    '\u205f',
    '\u2060',
    '\u2061',
    '\u2064',
    '\u2066',
    '\u2069',
    '\u206f',
    '\u2800',
    '\u3000',
    '\u3164',
    '\ufe00',
    '\ufe0f',
    '\ufeff',
    '\uffa0',
    '\u{e0001}',
    '\u{e0020}',
    '\u{e007f}',
  ]
  const invisible = fc.array(fc.constantFrom(...INVISIBLE), { minLength: 1, maxLength: 40 }).map((chars) => chars.join(''))
  const Name = text('name', 200)

  test('any string of them answers "name must not be empty" (once), in every required text of the contract', () => {
    fc.assert(
      fc.property(invisible, (blank) => {
        const r = v.safeParse(Name, blank)
        expect(r.success).toBe(false)
        if (!r.success) expect(r.issues.map((i) => i.message)).toEqual(['name must not be empty'])
        const body = { ...valid, destination: { name: blank, address: blank } }
        const errors = v.safeParse(CreateDeliveryRequestSchema, body).issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`)
        expect(errors).toEqual(['destination.name: name must not be empty', 'destination.address: address must not be empty'])
      }),
    )
  })

  test('one visible character among them is text (kept as sent, trimmed of white space)', () => {
    fc.assert(
      fc.property(invisible, invisible, fc.constantFrom('a', 'Ω', '7', '.', '日', 'é', '😀', '-'), (before, after, visible) => {
        const value = `${before}${visible}${after}`
        const r = v.safeParse(Name, value)
        expect(r.success).toBe(true)
        if (r.success) expect(r.output).toBe(value.trim())
        expect(isBlank(value)).toBe(false)
      }),
    )
  })
})
