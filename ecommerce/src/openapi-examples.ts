import { isProduction } from '@logistics/shared'
import { type Config, DEV_ADMIN_PASSWORD } from './config'

const productId = '3f1c2a9e-5b7d-4e21-9c0a-6d8e2f4b1a73'

type DocsConfig = Pick<Config, 'NODE_ENV' | 'ADMIN_EMAIL' | 'ADMIN_PASSWORD'>

/** The bootstrap admin's development login, while it works (never with NODE_ENV=production). */
export function demoLogin(config: DocsConfig): { email: string; password: string } | undefined {
  if (isProduction(config) || config.ADMIN_PASSWORD !== DEV_ADMIN_PASSWORD) return undefined
  return { email: config.ADMIN_EMAIL, password: DEV_ADMIN_PASSWORD }
}

/**
 * Example request bodies of the Swagger page, by `METHOD /path`. Outside production, while the
 * bootstrap admin still has the development password, the login example is that demo login (so
 * "Try it out" works at once); in production it is a made-up user, never a real credential.
 */
export function requestExamples(config: DocsConfig): Record<string, unknown> {
  return {
    'POST /auth/login': demoLogin(config) ?? { email: 'carla@example.com', password: 'correct-horse-battery-staple' },
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
    'POST /purchases': { items: [{ product_id: productId, quantity: 2 }] },
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
