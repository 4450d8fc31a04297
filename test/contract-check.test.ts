/**
 * The test kit's contract check (testkit/openapi-check.ts), which `callApp` runs on every answer of
 * every test: it must refuse what the document does not describe, or it guards nothing.
 */
import { describe, expect, test } from 'bun:test'
import { silentLogger } from '@logistics/shared'
import { ContractChecker } from '@logistics/testkit/openapi-check'
import { createApp } from '../delivery/src/app'
import { loadConfig } from '../delivery/src/config'
import type { DeliveryDb } from '../delivery/src/db'

// The document only: no request here reaches the database.
const app = createApp({ db: {} as DeliveryDb, config: loadConfig({ LOG_LEVEL: 'silent' }), logger: silentLogger })
const checker = new ContractChecker(await (await app.handle(new Request('http://localhost/swagger/json'))).json())

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers({ 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers }),
  text: JSON.stringify(body),
})
const problem = (status: number, code: string, extra: Record<string, unknown> = {}) => ({
  type: `/problems/${code}`,
  title: 'x',
  status,
  detail: 'd',
  code,
  ...extra,
})
const delivery = {
  tracking_number: 'TRK-7Q2M-9XKD-4HBT',
  status: 'READY_FOR_PICK_UP',
  tracking_url: 'http://localhost:3001/track/TRK-7Q2M-9XKD-4HBT',
  order: { foreign_order_id: 'ORD-1', products: [{ sku: 'S', name: 'N', qty: 1 }] },
  origin: { address: 'a' },
  destination: { name: 'n', address: 'a' },
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
}

const page = (status: number) => ({ status, headers: new Headers({ 'content-type': 'text/html; charset=utf-8' }), text: '<p>' })

describe('the contract check of every answer', () => {
  test('passes what the document describes', () => {
    expect(checker.check('POST', '/deliveries', json(201, delivery, { location: '/deliveries/TRK-7Q2M-9XKD-4HBT' }))).toEqual([])
    expect(checker.check('DELETE', '/deliveries/TRK-7Q2M-9XKD-4HBT', { status: 204, headers: new Headers(), text: '' })).toEqual([])
    expect(checker.check('PATCH', '/deliveries/x', json(409, problem(409, 'delivery-final', { current_status: 'DELIVERED' })))).toEqual([])
    expect(checker.check('GET', '/health', json(503, problem(503, 'database-unavailable'), { 'retry-after': '5' }))).toEqual([])
    expect(checker.check('PUT', '/deliveries', json(405, problem(405, 'method-not-allowed'), { allow: 'GET, POST, HEAD' }))).toEqual([])
    expect(checker.check('GET', '/nothing/here', json(404, problem(404, 'not-found')))).toEqual([])
    expect(
      checker.check('GET', '/metrics', { status: 200, headers: new Headers({ 'content-type': 'text/plain; version=0.0.4' }), text: 'x 1' }),
    ).toEqual([])
    expect(checker.check('POST', '/deliveries', json(503, problem(503, 'request-bodies-busy'), { 'retry-after': '1' }))).toEqual([])
    expect(
      checker.check('GET', '/track/TRK-7Q2M-9XKD-4HBT/status', { status: 304, headers: new Headers({ etag: '"k3"' }), text: '' }),
    ).toEqual([])
    expect(
      checker.check('GET', '/track/x', { ...page(429), headers: new Headers({ 'content-type': 'text/html', 'retry-after': '9' }) }),
    ).toEqual([])
  })

  test('refuses a status, a body, a code, a content type or a header the document does not describe', () => {
    const broken = [
      checker.check('GET', '/deliveries/x', json(418, {})),
      checker.check('POST', '/deliveries', json(201, { ...delivery, status: null }, { location: '/d' })),
      checker.check('POST', '/deliveries', json(201, { ...delivery, created_at: 'yesterday' }, { location: '/d' })),
      checker.check('POST', '/deliveries', json(201, delivery)),
      checker.check('PATCH', '/deliveries/x', json(409, problem(409, 'already-picked-up', { current_status: 'IN_ORIGIN' }))),
      checker.check('GET', '/health', json(503, problem(503, 'database-unavailable'))),
      checker.check(
        'GET',
        '/deliveries',
        json(200, { data: [], total: 0, limit: 20, offset: 0, next_cursor: null }, { 'retry-after': '1' }),
      ),
      checker.check('GET', '/deliveries/x', { status: 200, headers: new Headers({ 'content-type': 'text/html' }), text: '<p>' }),
      checker.check('PUT', '/deliveries', json(200, {})),
      checker.check('POST', '/deliveries', json(201, { ...delivery, tracking_url: null }, { location: '/d' })),
      checker.check('GET', '/deliveries', json(503, problem(503, 'request-bodies-busy'), { 'retry-after': '1' })),
      checker.check('GET', '/track/TRK-7Q2M-9XKD-4HBT/status', { status: 304, headers: new Headers(), text: '' }),
      checker.check('GET', '/track/x', page(429)),
      checker.check('GET', '/track/x', json(404, problem(404, 'not-found'))),
    ]
    expect(broken.map((violations) => violations.length > 0)).toEqual(broken.map(() => true))
    expect(broken[1]![0]).toContain('status')
    expect(broken[4]![0]).toContain('code')
  })
})
