import {
  ConfigError,
  DatabaseConnectTimeoutSchema,
  DEV_DELIVERY_API_KEY,
  envInteger,
  LOG_FORMATS,
  NodeEnvSchema,
  PortSchema,
  readConfig,
  refuseDevelopmentValues,
} from '@logistics/shared'
import * as v from 'valibot'
import { parseAllowedHosts } from './modules/webhooks/destination'

export const DEV_API_KEYS = `ecommerce:${DEV_DELIVERY_API_KEY}`

/**
 * PUBLIC_URL: where a browser reaches this service, the base of every `tracking_url`: an absolute
 * http(s) URL, optionally with a path (behind a proxy), without query, fragment or credentials;
 * trailing slashes are dropped. Unset: `http://localhost:<PORT>`.
 */
const PublicUrlSchema = v.optional(
  v.pipe(
    v.string(),
    v.trim(),
    v.url('must be a URL'),
    v.regex(/^https?:\/\//i, 'must be an http or https URL'),
    // (valibot runs every check of a pipe: each one copes with a string that is no URL at all)
    v.check((u) => !/[?#]/.test(u), 'must not have a query or a fragment'),
    v.check((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), 'must not carry credentials'),
    v.transform((u) => u.replace(/\/+$/, '')),
  ),
)

/** Every environment variable of the delivery service (docs/environment.md is generated from it: `bun run docs`). */
export const ConfigSchema = v.object({
  PORT: PortSchema(3001),
  PUBLIC_URL: PublicUrlSchema,
  /**
   * How many reverse proxies in front of the service append the client address to X-Forwarded-For
   * (the public tracking page's rate limit counts per client address). 0 (default): the socket
   * address is the client (the header is ignored: anyone could forge it).
   */
  TRUST_PROXY_HOPS: envInteger(0, { max: 99, format: 'must be a whole number of proxies (0 when none)' }),
  DATABASE_URL: v.optional(v.string()),
  DATABASE_CONNECT_TIMEOUT_SECONDS: DatabaseConnectTimeoutSchema,
  STATUS_TICK_SECONDS: envInteger(30, { min: 1, max: 86_400, format: 'must be a whole number of seconds' }),
  DELIVERY_API_KEYS: v.optional(
    v.pipe(v.string(), v.regex(/^[^:,\s]+:[^:,\s]+(,[^:,\s]+:[^:,\s]+)*$/, 'must be comma-separated name:key pairs')),
    DEV_API_KEYS,
  ),
  /** How long a claimed webhook event stays with one replica before another may send it (crash recovery). */
  WEBHOOK_LEASE_SECONDS: envInteger(60, { min: 1, max: 3600, format: 'must be a whole number of seconds' }),
  /** Timeout of one webhook POST. */
  WEBHOOK_TIMEOUT_SECONDS: envInteger(10, { min: 1, max: 120, format: 'must be a whole number of seconds' }),
  /** How many webhooks one API client may have (one more answers 409 too-many-subscriptions). */
  WEBHOOK_SUBSCRIPTIONS_PER_CLIENT: envInteger(10, { min: 1, max: 1000, format: 'must be a whole number of subscriptions' }),
  /** Delivered and given-up webhook events and attempt logs older than this are purged (docs/webhooks.md). */
  WEBHOOK_RETENTION_DAYS: envInteger(30, { min: 1, max: 3650, format: 'must be a whole number of days' }),
  /** Host names, IPs and CIDR ranges webhook URLs may target in production although private. */
  WEBHOOK_ALLOWED_HOSTS: v.optional(
    v.pipe(
      v.string(),
      v.transform(parseAllowedHosts),
      v.check(
        (h) => h.invalid.length === 0,
        (i) => `not a host name, IP or CIDR range: ${i.input.invalid.join(', ')}`,
      ),
    ),
    '',
  ),
  /** Bearer token for GET /metrics; without it /metrics is open in development and not served in production. */
  METRICS_TOKEN: v.optional(v.pipe(v.string(), v.minLength(16, 'must be at least 16 characters'))),
  LOG_LEVEL: v.optional(v.picklist(['debug', 'info', 'warn', 'error', 'silent']), 'info'),
  /** `json` or `pretty` (readable lines); default: pretty at a terminal, else JSON; always JSON in production. */
  LOG_FORMAT: v.optional(v.picklist(LOG_FORMATS)),
  NODE_ENV: v.optional(NodeEnvSchema),
})

export type DeliveryConfig = Omit<v.InferOutput<typeof ConfigSchema>, 'PUBLIC_URL'> & {
  /** Always set: `http://localhost:<PORT>` when PUBLIC_URL is not. */
  PUBLIC_URL: string
}

/** `DELIVERY_API_KEYS` as `[name, key]` pairs. */
export const parseApiKeys = (keys: string) => keys.split(',').map((pair) => pair.split(':', 2) as [string, string])

export function loadConfig(env: Record<string, string | undefined> = process.env): DeliveryConfig {
  const read = readConfig(ConfigSchema, env)
  const config: DeliveryConfig = { ...read, PUBLIC_URL: read.PUBLIC_URL ?? `http://localhost:${read.PORT}` }
  if (config.WEBHOOK_LEASE_SECONDS <= config.WEBHOOK_TIMEOUT_SECONDS)
    throw new ConfigError(
      'WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS, or a slow webhook could be sent twice at once',
    )
  refuseDevelopmentValues(env, [
    {
      name: 'DELIVERY_API_KEYS',
      value: env.DELIVERY_API_KEYS,
      devValues: [DEV_DELIVERY_API_KEY],
      minLength: 24,
      values: parseApiKeys(config.DELIVERY_API_KEYS).map(([, key]) => key),
    },
    { name: 'METRICS_TOKEN', value: config.METRICS_TOKEN, devValues: [], minLength: 24, optional: true },
  ])
  const pairs = parseApiKeys(config.DELIVERY_API_KEYS)
  const names = pairs.map(([name]) => name)
  const twice = names.filter((n, i) => names.indexOf(n) !== i)
  if (twice.length > 0)
    throw new ConfigError(`DELIVERY_API_KEYS names the client ${twice.join(', ')} more than once; give each client one key`)
  if (new Set(pairs.map(([, key]) => key)).size < pairs.length)
    throw new ConfigError('DELIVERY_API_KEYS gives the same key to two clients; give each client its own key')
  return config
}
