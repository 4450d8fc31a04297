/**
 * `bun run seed`: demo data for a running pair of services, through the public API (so every rule
 * applies): the administrator (bootstrapped by the service), two sellers with warehouse addresses
 * and seller users, a dozen products, two customers (ecommerce/src/demo-data.ts). Idempotent: a second run creates nothing (and
 * asks nothing whose answer is an error, so the services' logs show no 401 or 409 for it).
 *
 *   ECOMMERCE_URL=http://localhost:3000 ADMIN_EMAIL=… ADMIN_PASSWORD=… bun run seed
 */
import { HTTPError } from 'ky'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS } from '../ecommerce/src/demo-data'
import { type Api, api, describeError, login, statusOf } from './api'

export { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS }

export type SeedSummary = {
  created: string[]
  password: string
  admin: { email: string; password: string }
  users: { role: string; email: string }[]
}

type Page<T> = { data: T[]; next_cursor: string | null }

/** Every item of a paged list (`limit` 100, following `next_cursor`). */
async function all<T>(client: Api, path: string, searchParams: Record<string, string> = {}): Promise<T[]> {
  const items: T[] = []
  for (let cursor: string | null = null; ; ) {
    const page: Page<T> = await client.get(path, { searchParams: { ...searchParams, limit: 100, ...(cursor && { cursor }) } }).json()
    items.push(...page.data)
    cursor = page.next_cursor
    if (!cursor) return items
  }
}

const KINDS: Record<string, [string, string]> = {
  seller: ['seller', 'sellers'],
  warehouse: ['warehouse address', 'warehouse addresses'],
  'seller-user': ['seller user', 'seller users'],
  product: ['product', 'products'],
  customer: ['customer', 'customers'],
}

/** "2 sellers, 12 products, …" from the created items (each starts with its kind). */
function tally(created: string[]): string {
  const counts = new Map<string, number>()
  for (const item of created) counts.set(item.split(' ')[0]!, (counts.get(item.split(' ')[0]!) ?? 0) + 1)
  return Object.entries(KINDS)
    .filter(([kind]) => counts.has(kind))
    .map(([kind, [one, many]]) => `${counts.get(kind)} ${counts.get(kind) === 1 ? one : many}`)
    .join(', ')
}

/**
 * Loads the demo data, creating only what is missing, in few calls and without asking anything
 * whose expected answer is an error (so the services log no 401 or 409 for it). The demo products
 * are created last: when the public catalogue lists all of them, an earlier run completed and
 * nothing else is asked (no login: a restart's seed is one request). Otherwise the administrator
 * lists the sellers and their users; the customers (whom nobody can list) are registered when the
 * demo sellers were not there yet, else each is checked by logging in; each seller's administrator
 * logs in to add the missing products. Independent calls go in parallel (the service hashes each
 * password on a thread of its own). `log` gets one line.
 */
export async function seed(options: {
  ecommerceUrl: string
  adminEmail?: string
  adminPassword?: string
  log?: (line: string) => void
}): Promise<SeedSummary> {
  const started = performance.now()
  const log = options.log ?? console.log
  const base = options.ecommerceUrl
  const adminEmail = options.adminEmail ?? process.env.ADMIN_EMAIL ?? 'admin@example.com'
  const adminPassword = options.adminPassword ?? process.env.ADMIN_PASSWORD ?? 'admin-password-change-me'
  const created: string[] = []
  const listed = await all<{ sku: string; seller_id: string }>(api(base), 'products')
  const complete = DEMO_SELLERS.every((s) => {
    const mine = listed.filter((p) => s.products.some(([sku]) => sku === p.sku))
    return mine.length === s.products.length && new Set(mine.map((p) => p.seller_id)).size === 1
  })
  if (!complete) await createMissing()

  async function createMissing() {
    const { client: admin } = await login(base, adminEmail, adminPassword)
    const sellers = await all<{ id: string; name: string; warehouse_address: string | null }>(admin, 'sellers')
    const found = DEMO_SELLERS.map((s) => sellers.find((x) => x.name === s.name))
    const ids = await Promise.all(
      DEMO_SELLERS.map(async (s, i) => {
        const seller = found[i]
        if (!seller) {
          const made = await admin
            .post('sellers', {
              json: {
                name: s.name,
                description: s.description,
                warehouse_address: s.warehouse_address,
                admins: [{ ...s.admin, password: DEMO_PASSWORD }],
              },
            })
            .json<{ id: string }>()
          created.push(`seller ${s.name} (admin ${s.admin.email})`)
          await admin.post(`sellers/${made.id}/users`, { json: { ...s.staff, password: DEMO_PASSWORD, is_seller_admin: false } })
          created.push(`seller-user ${s.staff.email}`)
          return made.id
        }
        if (!seller.warehouse_address) {
          await admin.patch(`sellers/${seller.id}`, { json: { warehouse_address: s.warehouse_address } })
          created.push(`warehouse address of ${s.name}`)
        }
        const staff = await all<{ email: string }>(admin, `sellers/${seller.id}/users`)
        if (!staff.some((u) => u.email === s.staff.email)) {
          await admin.post(`sellers/${seller.id}/users`, { json: { ...s.staff, password: DEMO_PASSWORD, is_seller_admin: false } })
          created.push(`seller-user ${s.staff.email}`)
        }
        return seller.id
      }),
    )
    const newDatabase = found.every((f) => f === undefined)
    await Promise.all(
      DEMO_CUSTOMERS.map(async (c) => {
        if (!newDatabase && (await statusOf(login(base, c.email, DEMO_PASSWORD))) === 200) return
        const status = await statusOf(api(base).post('users', { json: { ...c, password: DEMO_PASSWORD } }))
        if (status === 200) created.push(`customer ${c.email}`)
        else if (status !== 409) throw new Error(`registering ${c.email} answered ${status}`)
      }),
    )
    // Last: a complete catalogue means a complete run.
    await Promise.all(
      DEMO_SELLERS.map(async (s, i) => {
        const have = new Set(listed.filter((p) => p.seller_id === ids[i]).map((p) => p.sku))
        const missing = s.products.map(([sku, name, description], n) => ({ sku, name, description, quantity: 25 + n * 5 }))
        if (missing.every((p) => have.has(p.sku))) return
        const { client: sellerAdmin } = await login(base, s.admin.email, DEMO_PASSWORD)
        for (const product of missing) {
          if (have.has(product.sku)) continue
          await sellerAdmin.post('products', { json: product })
          created.push(`product ${product.sku}`)
        }
      }),
    )
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  log(created.length === 0 ? `demo data: already there (checked in ${seconds} s)` : `demo data: created ${tally(created)} in ${seconds} s`)
  return {
    created,
    password: DEMO_PASSWORD,
    admin: { email: adminEmail, password: adminPassword },
    users: [
      ...DEMO_SELLERS.flatMap((s) => [
        { role: 'seller admin', email: s.admin.email },
        { role: 'seller', email: s.staff.email },
      ]),
      ...DEMO_CUSTOMERS.map((c) => ({ role: 'customer', email: c.email })),
    ],
  }
}

if (import.meta.main) {
  const ecommerceUrl = process.env.ECOMMERCE_URL ?? 'http://localhost:3000'
  try {
    const summary = await seed({ ecommerceUrl })
    console.log(`\nadmin: ${summary.admin.email}; demo users (password ${summary.password}):`)
    for (const u of summary.users) console.log(`  ${u.role.padEnd(12)} ${u.email}`)
  } catch (error) {
    console.error(
      `seed failed against ${ecommerceUrl}: ${error instanceof HTTPError ? await describeError(error) : (error as Error).message}`,
    )
    console.error('Is the ecommerce service running (bun run dev)?')
    process.exit(1)
  }
}
