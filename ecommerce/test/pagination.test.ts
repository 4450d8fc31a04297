import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { MAX_OFFSET, TOTAL_EXACT_UP_TO } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { sql } from 'drizzle-orm'
import { createHarness, type Harness } from './helpers'

let h: Harness
let admin: string
beforeAll(async () => {
  h = await createHarness()
  admin = await h.adminToken()
})
afterAll(() => h.close())

type Page = { data: { id: string }[]; total: number; next_cursor: string | null; limit: number; offset: number }

async function page(path: string, token?: string): Promise<Page> {
  const r = await h.request('GET', path, { token })
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`)
  return r.body
}

/** Every id of a list, page by page through next_cursor. */
async function walkByCursor(path: string, limit: number, token?: string, between?: () => Promise<void>) {
  const ids: string[] = []
  let cursor: string | null = null
  for (let pages = 0; pages < 1000; pages++) {
    const sep = path.includes('?') ? '&' : '?'
    const p = await page(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, token)
    ids.push(...p.data.map((d) => d.id))
    if (p.next_cursor === null) return ids
    expect(p.data).toHaveLength(limit)
    cursor = p.next_cursor
    await between?.()
  }
  throw new Error('cursor walk did not end')
}

async function walkByOffset(path: string, limit: number, token?: string) {
  const ids: string[] = []
  for (let offset = 0; ; offset += limit) {
    const sep = path.includes('?') ? '&' : '?'
    const p = await page(`${path}${sep}limit=${limit}&offset=${offset}`, token)
    ids.push(...p.data.map((d) => d.id))
    if (p.data.length < limit) return ids
  }
}

/** A seller with `n` products whose created_at all tie (one statement) or differ by microseconds. */
async function sellerWithProducts(name: string, n: number, spacing: 'tie' | 'microseconds') {
  const s = await h.seller(name, admin)
  const step = spacing === 'tie' ? `interval '0'` : `g * interval '1 microsecond'`
  await h.db.execute(
    sql.raw(`
      insert into products (seller_id, sku, name, description, quantity, created_at)
      select '${s.id}', 'SKU-' || g, 'Product ' || g, 'bench', 1, timestamptz '2030-01-01 00:00:00.000100+00' + ${step}
      from generate_series(1, ${n}) g`),
  )
  return s
}

describe('cursor pagination (every list, one helper)', () => {
  test('walking by cursor gives the same rows as walking by offset, each once, also when created_at ties or differs by microseconds', async () => {
    for (const spacing of ['tie', 'microseconds'] as const) {
      const s = await sellerWithProducts(`Walk ${spacing}`, 23, spacing)
      const path = `/products?seller_id=${s.id}`
      const byCursor = await walkByCursor(path, 5)
      const byOffset = await walkByOffset(path, 5)
      expect(byCursor).toHaveLength(23)
      expect(new Set(byCursor).size).toBe(23)
      expect(byCursor).toEqual(byOffset)
      const first = await page(`${path}&limit=5`)
      expect(first.total).toBe(23)
      expect(first.next_cursor).toEqual(expect.any(String))
      // the last page answers next_cursor null; an exact fit too
      expect((await page(`${path}&limit=23`)).next_cursor).toBeNull()
      expect((await page(`${path}&limit=100`)).next_cursor).toBeNull()
    }
  })

  test('rows inserted while walking cause no duplicates and no gaps', async () => {
    const s = await h.seller('Moving', admin)
    for (let i = 0; i < 12; i++) await h.product(s.token, `M-${i}`, 1)
    const path = `/products?seller_id=${s.id}`
    const before = await walkByOffset(path, 100)
    let n = 0
    // newest first: every new product lands before the cursor, where offset paging would repeat rows
    const walked = await walkByCursor(path, 4, undefined, async () => {
      await h.product(s.token, `NEW-${n++}`, 1)
    })
    expect(walked).toEqual(before)
    expect(new Set(walked).size).toBe(walked.length)
  })

  test('orders (per role), sellers and seller users page by cursor the same as by offset', async () => {
    const s = await h.seller('Orders', admin)
    const p = await h.product(s.token, 'O-1', 100)
    const c = await h.customer()
    for (let i = 0; i < 7; i++) expect((await h.buy(c.token, [{ product_id: p.id, quantity: 1 }])).status).toBe(201)
    for (const token of [s.token, c.token]) {
      const byCursor = await walkByCursor('/orders', 3, token)
      expect(byCursor).toHaveLength(7)
      expect(byCursor).toEqual(await walkByOffset('/orders', 3, token))
    }
    const statusCursor = await walkByCursor('/orders?status=created', 2, s.token)
    expect(statusCursor).toEqual(await walkByOffset('/orders?status=created', 2, s.token))
    const sellers = await walkByCursor('/sellers', 2, admin)
    expect(sellers).toEqual(await walkByOffset('/sellers', 2, admin))
    for (let i = 0; i < 4; i++)
      expect(
        (
          await h.request('POST', `/sellers/${s.id}/users`, {
            token: s.token,
            body: { email: `u${i}-${s.id}@x.test`, password: 'user-password', name: `U${i}` },
          })
        ).status,
      ).toBe(201)
    const users = await walkByCursor(`/sellers/${s.id}/users`, 2, s.token)
    expect(users).toHaveLength(5)
    expect(users).toEqual(await walkByOffset(`/sellers/${s.id}/users`, 2, s.token))
  })

  test('a tampered or foreign cursor answers 422 problem+json, never 500', async () => {
    const s = await sellerWithProducts('Tamper', 3, 'microseconds')
    const good = (await page(`/products?seller_id=${s.id}&limit=1`)).next_cursor!
    const b64 = (text: string) => Buffer.from(text).toString('base64url')
    const decoded = Buffer.from(good, 'base64url').toString()
    const [ts, id] = decoded.split(' ')
    const bad = [
      'not a cursor',
      '!!!!',
      good.slice(0, -3),
      b64(''),
      b64(ts!),
      b64(`${ts} ${id} extra`),
      b64(`${id} ${ts}`),
      b64(`2030-13-45T99:99:99.000000Z ${id}`),
      b64(`${ts} not-a-uuid`),
      b64(`${ts} ${id}'; drop table products; --`),
      b64('12345'), // a webhook-attempts-like cursor on a (created_at, id) list
      'x'.repeat(201),
    ]
    for (const cursor of bad) {
      const r = await h.request('GET', `/products?seller_id=${s.id}&cursor=${encodeURIComponent(cursor)}`)
      expect(r.status).toBe(422)
      expect(r.headers.get('content-type')).toContain('application/problem+json')
    }
    // orders too (another list, same helper)
    const r = await h.request('GET', '/orders?cursor=garbage', { token: admin })
    expect(r.status).toBe(422)
  })

  test(`any offset up to ${MAX_OFFSET} (2^53 − 1): an empty page past the end (with or without a cursor); beyond, 422 naming the maximum`, async () => {
    const s = await sellerWithProducts('Deep', 3, 'microseconds')
    const cursor = (await page(`/products?seller_id=${s.id}&limit=1`)).next_cursor!
    for (const offset of [1, 1_000_000_000, 2 ** 31, MAX_OFFSET]) {
      const deep = await page(`/products?seller_id=${s.id}&offset=${offset}`)
      expect(deep).toMatchObject({ offset, total: 3, next_cursor: null })
      expect(deep.data).toHaveLength(offset === 1 ? 2 : 0)
      expect((await page(`/products?seller_id=${s.id}&offset=${offset}&cursor=${cursor}`)).data).toHaveLength(offset === 1 ? 1 : 0)
      expect((await page(`/orders?offset=${offset}`, admin)).offset).toBe(offset)
    }
    for (const offset of [`${MAX_OFFSET + 1}`, '99999999999999999999999']) {
      const r = await h.request('GET', `/products?offset=${offset}`)
      expect([r.status, r.body.errors]).toEqual([422, [{ path: 'offset', message: `offset must be at most ${MAX_OFFSET}` }]])
    }
    for (const offset of ['-1', '1e3', '1.5', ''])
      expect((await h.request('GET', `/products?offset=${offset}`)).body.errors[0].message).toBe('offset must be a whole number')
  })

  test(`total is exact up to ${TOTAL_EXACT_UP_TO}; above, an estimate above the cap`, async () => {
    const s = await sellerWithProducts('Many', TOTAL_EXACT_UP_TO + 500, 'microseconds')
    await queryRows(h.db, sql`analyze products`)
    const big = await page(`/products?seller_id=${s.id}&limit=1`)
    expect(big.total).toBeGreaterThan(TOTAL_EXACT_UP_TO)
    const small = await sellerWithProducts('Few', 42, 'microseconds')
    expect((await page(`/products?seller_id=${small.id}&limit=1`)).total).toBe(42)
  })
})
