/**
 * `bun run seed`: demo data for a running pair of services, through the public API (so every rule
 * applies): the administrator (bootstrapped by the service), two sellers with warehouse addresses
 * and seller users, a dozen products, two customers (ecommerce/src/demo-data.ts). Idempotent: a second run creates nothing.
 *
 *   ECOMMERCE_URL=http://localhost:3000 ADMIN_EMAIL=… ADMIN_PASSWORD=… bun run seed
 */
import { HTTPError } from 'ky'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS } from '../ecommerce/src/demo-data'
import { api, describeError, login, statusOf } from './api'

export { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS }

export type SeedSummary = {
  created: string[]
  password: string
  admin: { email: string; password: string }
  users: { role: string; email: string }[]
}

export async function seed(options: {
  ecommerceUrl: string
  adminEmail?: string
  adminPassword?: string
  log?: (line: string) => void
}): Promise<SeedSummary> {
  const log = options.log ?? console.log
  const base = options.ecommerceUrl
  const adminEmail = options.adminEmail ?? process.env.ADMIN_EMAIL ?? 'admin@example.com'
  const adminPassword = options.adminPassword ?? process.env.ADMIN_PASSWORD ?? 'admin-password-change-me'
  const created: string[] = []
  const { client: admin } = await login(base, adminEmail, adminPassword)

  for (const s of DEMO_SELLERS) {
    // A seller exists when its administrator can log in.
    let seller = await login(base, s.admin.email, DEMO_PASSWORD).catch(() => null)
    if (!seller) {
      await admin.post('sellers', {
        json: {
          name: s.name,
          description: s.description,
          warehouse_address: s.warehouse_address,
          admins: [{ ...s.admin, password: DEMO_PASSWORD }],
        },
      })
      created.push(`seller ${s.name} (admin ${s.admin.email})`)
      seller = await login(base, s.admin.email, DEMO_PASSWORD)
    }
    const sellerId = seller.user.seller_id!
    const view = await seller.client.get(`sellers/${sellerId}`).json<{ warehouse_address: string | null }>()
    if (!view.warehouse_address) {
      await seller.client.patch(`sellers/${sellerId}`, { json: { warehouse_address: s.warehouse_address } })
      created.push(`warehouse address of ${s.name}`)
    }
    const staff = await seller.client
      .get(`sellers/${sellerId}/users`, { searchParams: { limit: 100 } })
      .json<{ data: { email: string }[] }>()
    if (!staff.data.some((u) => u.email === s.staff.email)) {
      await seller.client.post(`sellers/${sellerId}/users`, { json: { ...s.staff, password: DEMO_PASSWORD, is_seller_admin: false } })
      created.push(`seller user ${s.staff.email}`)
    }
    const products = await api(base)
      .get('products', { searchParams: { seller_id: sellerId, limit: 100 } })
      .json<{ data: { sku: string }[] }>()
    const have = new Set(products.data.map((p) => p.sku))
    for (const [i, [sku, name, description]] of s.products.entries()) {
      if (have.has(sku)) continue
      await seller.client.post('products', { json: { sku, name, description, quantity: 25 + i * 5 } })
      created.push(`product ${sku}`)
    }
  }

  for (const c of DEMO_CUSTOMERS) {
    const status = await statusOf(api(base).post('users', { json: { ...c, password: DEMO_PASSWORD } }))
    if (status === 200) created.push(`customer ${c.email}`)
    else if (status !== 409) throw new Error(`registering ${c.email} answered ${status}`)
  }

  if (created.length === 0) log('seed: the demo data is already there; nothing created')
  else for (const line of created) log(`seed: created ${line}`)
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
