import { isProduction } from '@logistics/shared'
import { ExampleSet } from '@logistics/shared/http/openapi'
import { and, desc, eq, gt, isNull } from 'drizzle-orm'
import { type Config, DEV_ADMIN_PASSWORD } from './config'
import type { EcommerceDb } from './context'
import { products } from './db/schema'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS } from './demo-data'

/** A made-up product id: the purchase example outside development, or before any product exists. */
const EXAMPLE_PRODUCT_ID = '3f1c2a9e-5b7d-4e21-9c0a-6d8e2f4b1a73'

type DocsConfig = Pick<Config, 'NODE_ENV' | 'ADMIN_EMAIL' | 'ADMIN_PASSWORD'>

/** The bootstrap admin's development login, while it works (never with NODE_ENV=production). */
export function demoLogin(config: DocsConfig): { email: string; password: string } | undefined {
  if (isProduction(config) || config.ADMIN_PASSWORD !== DEV_ADMIN_PASSWORD) return undefined
  return { email: config.ADMIN_EMAIL, password: DEV_ADMIN_PASSWORD }
}

/**
 * The Swagger page's walk through the story, in development only (while the admin still has the
 * development password): who to log in as, by role, and what to do next.
 */
export function demoGuide(config: DocsConfig): string | undefined {
  const admin = demoLogin(config)
  if (!admin) return undefined
  const [nordic, trailhead] = DEMO_SELLERS
  return [
    '',
    "**Try it (development setup).** `bun run dev` loads the demo data (`bun run seed`). Every demo user's password is " +
      `\`${DEMO_PASSWORD}\`; the administrator is \`${admin.email}\` / \`${admin.password}\`.`,
    '',
    '| role | logs in as | does |',
    '| --- | --- | --- |',
    `| customer | \`${DEMO_CUSTOMERS[0].email}\`, \`${DEMO_CUSTOMERS[1].email}\` | buys (\`POST /purchases\`), follows and cancels its orders |`,
    `| seller administrator | \`${nordic.admin.email}\` (${nordic.name}), \`${trailhead.admin.email}\` (${trailhead.name}) | manages products and seller users, confirms and dispatches orders |`,
    `| seller user | \`${nordic.staff.email}\`, \`${trailhead.staff.email}\` | manages products, confirms and dispatches orders |`,
    `| admin | \`${admin.email}\` | creates sellers, sees everything, cancels orders |`,
    '',
    '1. `POST /auth/login` with the **customer** example; copy `access_token`.',
    '2. **Authorize**: paste the token (without `Bearer `).',
    '3. `POST /purchases`: its example buys one of a product in the catalogue (`GET /products` lists them); the answer has one order per seller.',
    `4. Log in as that product's seller administrator (\`${nordic.admin.email}\` for ${nordic.name}), Authorize again, then \`POST /orders/{id}/confirm\` and \`POST /orders/{id}/dispatch\`.`,
    '5. As the customer, `GET /orders/{id}` and `GET /orders/{id}/tracking` follow the parcel as the delivery service moves it on.',
  ].join('\n')
}

/** The login example: in development one per demo role (the customer first), else a made-up user. */
function loginExamples(config: DocsConfig): unknown {
  const admin = demoLogin(config)
  if (!admin) return { email: 'carla@example.com', password: 'correct-horse-battery-staple' }
  const [nordic] = DEMO_SELLERS
  return new ExampleSet({
    customer: { summary: `Customer (${DEMO_CUSTOMERS[0].name})`, value: { email: DEMO_CUSTOMERS[0].email, password: DEMO_PASSWORD } },
    sellerAdmin: {
      summary: `Seller administrator (${nordic.admin.name}, ${nordic.name})`,
      value: { email: nordic.admin.email, password: DEMO_PASSWORD },
    },
    sellerUser: {
      summary: `Seller user (${nordic.staff.name}, ${nordic.name})`,
      value: { email: nordic.staff.email, password: DEMO_PASSWORD },
    },
    admin: { summary: 'Marketplace administrator', value: admin },
  })
}

/**
 * Example request bodies of the Swagger page, by `METHOD /path`. Outside production, while the
 * bootstrap admin still has the development password, the login examples are the demo logins (so
 * "Try it out" works at once); in production a made-up user, never a real credential.
 */
export function requestExamples(config: DocsConfig): Record<string, unknown> {
  return {
    'POST /auth/login': loginExamples(config),
    'POST /users': {
      email: 'carla@example.com',
      password: 'correct-horse-battery-staple',
      name: 'Carla Ruiz',
      shipping_address: 'Calle Mayor 12, 28013 Madrid',
    },
    'POST /sellers': {
      name: 'Acme Kitchenware',
      description: 'Kettles, pans and everything for the kitchen',
      warehouse_address: 'Dock Road 7, 3011 Rotterdam',
      admins: [{ email: 'owner@acme.example', password: 'seller-password-1', name: 'Ada Owner' }],
    },
    'PATCH /sellers/{id}': { warehouse_address: 'Dock Road 9, 3011 Rotterdam' },
    'POST /sellers/{id}/users': { email: 'packer@acme.example', password: 'seller-password-2', name: 'Pat Packer', is_seller_admin: false },
    'POST /products': { sku: 'KET-1700', name: 'Steel kettle 1.7 l', description: 'Brushed steel, auto shut-off', quantity: 25 },
    'PATCH /products/{id}': { quantity: 40 },
    'POST /purchases': { items: [{ product_id: EXAMPLE_PRODUCT_ID, quantity: 1 }] },
    'POST /webhooks/delivery': {
      type: 'delivery.status_changed',
      timestamp: '2025-03-01T10:15:30.000Z',
      data: {
        tracking_number: 'TRK-7Q2M-9XKD-4HBT',
        foreign_order_id: '8a6e0d52-31c4-4f7b-b2f4-0c9d7e1a5b36',
        status: 'IN_ORIGIN',
        previous_status: 'READY_FOR_PICK_UP',
        date: '2025-03-01T10:15:30.000Z',
      },
    },
  }
}

/**
 * Examples looked up when the document is served, in development only: the purchase example names
 * a product that is in the catalogue and in stock (the seed's first one when it is there), so a
 * pasted example works against `bun run dev`'s seeded pair.
 */
export function liveExamples(config: DocsConfig, db: EcommerceDb): (() => Promise<Record<string, unknown>>) | undefined {
  if (!demoLogin(config)) return undefined
  const preferred = DEMO_SELLERS[0].products[0][0]
  return async () => {
    const inStock = and(isNull(products.deletedAt), gt(products.quantity, 0))
    const select = () => db.select({ id: products.id }).from(products)
    const seeded = await select()
      .where(and(inStock, eq(products.sku, preferred)))
      .limit(1)
    const [product] = seeded.length ? seeded : await select().where(inStock).orderBy(desc(products.quantity)).limit(1)
    return product ? { 'POST /purchases': { items: [{ product_id: product.id, quantity: 1 }] } } : {}
  }
}
