import * as v from 'valibot'
import { ConfigError, LOG_FORMATS, PortSchema, readConfig, refuseDevelopmentValues } from '@logistics/shared'

export const DEV_API_KEYS = 'ecommerce:dev-delivery-key-change-me'

const ConfigSchema = v.object({
  PORT: PortSchema(3001),
  DATABASE_URL: v.optional(v.string()),
  STATUS_TICK_SECONDS: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of seconds'), v.transform(Number), v.minValue(1), v.maxValue(86_400)),
    '30',
  ),
  DELIVERY_API_KEYS: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[^:,\s]+:[^:,\s]+(,[^:,\s]+:[^:,\s]+)*$/, 'must be comma-separated name:key pairs'),
    ),
    DEV_API_KEYS,
  ),
  /** How long a claimed webhook event stays with one replica before another may send it (crash recovery). */
  WEBHOOK_LEASE_SECONDS: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of seconds'), v.transform(Number), v.minValue(1), v.maxValue(3600)),
    '60',
  ),
  /** Timeout of one webhook POST. */
  WEBHOOK_TIMEOUT_SECONDS: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of seconds'), v.transform(Number), v.minValue(1), v.maxValue(120)),
    '10',
  ),
  LOG_LEVEL: v.optional(v.picklist(['debug', 'info', 'warn', 'error', 'silent']), 'info'),
  /** `json` or `pretty` (readable lines); default: pretty at a terminal, else JSON; always JSON in production. */
  LOG_FORMAT: v.optional(v.picklist(LOG_FORMATS)),
  NODE_ENV: v.optional(v.string()),
})

export type DeliveryConfig = v.InferOutput<typeof ConfigSchema>

/** `DELIVERY_API_KEYS` as `[name, key]` pairs. */
export const parseApiKeys = (keys: string) =>
  keys.split(',').map((pair) => pair.split(':', 2) as [string, string])

export function loadConfig(env: Record<string, string | undefined> = process.env): DeliveryConfig {
  const config = readConfig(ConfigSchema, env)
  if (config.WEBHOOK_LEASE_SECONDS <= config.WEBHOOK_TIMEOUT_SECONDS)
    throw new ConfigError('WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS, or a slow webhook could be sent twice at once')
  refuseDevelopmentValues(env, [
    { name: 'DELIVERY_API_KEYS', value: env.DELIVERY_API_KEYS, devValues: ['dev-delivery-key-change-me'] },
  ])
  return config
}
