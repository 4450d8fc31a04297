import { DEV_DELIVERY_API_KEY, isProduction } from '@logistics/shared'
import { type DeliveryConfig, parseApiKeys } from './config'

/** The development API key while it works here (never with NODE_ENV=production), to show on the Swagger page. */
export function developmentApiKey(config: Pick<DeliveryConfig, 'NODE_ENV' | 'DELIVERY_API_KEYS'>): string | undefined {
  if (isProduction(config)) return undefined
  return parseApiKeys(config.DELIVERY_API_KEYS).some(([, key]) => key === DEV_DELIVERY_API_KEY) ? DEV_DELIVERY_API_KEY : undefined
}

/** Example request bodies of the Swagger page, by `METHOD /path`. */
export const requestExamples: Record<string, unknown> = {
  'POST /deliveries': {
    order: {
      foreign_order_id: 'ORD-2025-000123',
      products: [
        { sku: 'KET-1700', name: 'Steel kettle 1.7 l', qty: 2 },
        { sku: 'MUG-0300', name: 'Stoneware mug', qty: 4 },
      ],
    },
    origin: { address: 'Dock Road 7, 3011 Rotterdam' },
    destination: { name: 'Carla Ruiz', address: 'Calle Mayor 12, 28013 Madrid' },
  },
  'PATCH /deliveries/{tracking_number}': { destination: { name: 'Carla Ruiz', address: 'Calle de Alcalá 50, 28014 Madrid' } },
  'POST /tracking': { foreign_order_id: 'ORD-2025-000123' },
  'POST /webhooks': { url: 'https://shop.example.com/webhooks/delivery' },
  'POST /webhooks/{id}/recover': { since: '2025-06-01T00:00:00Z' },
}

/** A `delivery.status_changed` event, as the document shows it. */
export const statusChangedExample = {
  type: 'delivery.status_changed',
  timestamp: '2025-03-01T10:15:30.412Z',
  data: {
    tracking_number: 'TRK-7Q2M-9XKD-4HBT',
    foreign_order_id: 'ORD-2025-000123',
    status: 'IN_ORIGIN',
    previous_status: 'READY_FOR_PICK_UP',
    date: '2025-03-01T10:15:30.000Z',
  },
}
