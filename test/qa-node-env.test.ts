/**
 * Operator mistakes with NODE_ENV, found in the QA pass after issue #8.
 *
 * `NODE_ENV=prod` (or `staging`, or a typo of production) used to start both services in
 * development mode without a word: the built-in development JWT secret (public in the repository,
 * so anyone could sign an admin token), the development API key and admin password, webhooks to
 * private addresses and open /metrics all accepted. A value the services do not know is refused.
 */
import { describe, expect, test } from 'bun:test'
import { ConfigError } from '@logistics/shared'
import { loadConfig as loadDeliveryConfig } from '../delivery/src/config'
import { loadConfig as loadEcommerceConfig } from '../ecommerce/src/config'
import { deadDeliveryUrl } from '../ecommerce/test/helpers'
import { startService } from '../scripts/services'

const loaders = { delivery: loadDeliveryConfig, ecommerce: loadEcommerceConfig } as const

describe('NODE_ENV', () => {
  for (const [service, load] of Object.entries(loaders)) {
    test(`${service}: an unknown NODE_ENV (prod, staging, a typo) is refused at start-up, naming the variable`, () => {
      for (const value of ['prod', 'staging', 'produciton', 'live']) {
        expect(() => load({ NODE_ENV: value })).toThrow(ConfigError)
        expect(() => load({ NODE_ENV: value })).toThrow(/NODE_ENV/)
      }
    })

    test(`${service}: development, test and unset still start with the development defaults, in any case`, () => {
      for (const value of [undefined, '', 'development', 'Development', 'test', ' TEST '])
        expect(() => load({ NODE_ENV: value })).not.toThrow()
    })
  }

  test('ecommerce with NODE_ENV=Production logs JSON even when LOG_FORMAT=pretty (production is case-insensitive for the logger too)', async () => {
    const lines: string[] = []
    const service = await startService('ecommerce', {
      env: {
        DATABASE_URL: 'memory://',
        DELIVERY_API_URL: deadDeliveryUrl(),
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'pretty',
        NODE_ENV: 'Production',
        JWT_SECRET: 'prod-jwt-secret-0123456789-abcdefXYZ',
        DELIVERY_API_KEY: 'prod-delivery-key-0123456789-abc',
        WEBHOOK_SECRET: `whsec_${Buffer.from('a production secret of 32 bytes!').toString('base64')}`,
        ADMIN_EMAIL: 'ops@marketplace.example',
        ADMIN_PASSWORD: 'the real admin passphrase 42',
      },
      onLine: (l) => lines.push(l),
    })
    try {
      const listening = lines.find((l) => l.includes('ecommerce listening'))
      expect(listening).toBeDefined()
      expect(JSON.parse(listening!)).toMatchObject({ msg: 'ecommerce listening' })
    } finally {
      await service.stop()
    }
  }, 30_000)
})
