import type { LogLevel } from '@logistics/shared'
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
  WebhookSecretSchema,
} from '@logistics/shared'
import { POOL_SIZE } from '@logistics/shared/db'
import * as v from 'valibot'
import { passwordWeakness } from './modules/auth/password-policy'

export const DEV_WEBHOOK_SECRET = `whsec_${Buffer.from('development-webhook-secret-change-me').toString('base64')}`
const DEV_JWT_SECRET = 'development-jwt-secret-change-me'
export const DEV_ADMIN_PASSWORD = 'admin-password-change-me'
const DEFAULT_ADMIN_EMAIL = 'admin@example.com'

const url = (fallback: string) =>
  v.optional(
    v.pipe(
      v.string(),
      v.url('must be a URL'),
      v.regex(/^https?:\/\//i, 'must be an http or https URL'),
      v.transform((u) => u.replace(/\/+$/, '')),
    ),
    fallback,
  )

const str = (fallback: string, min = 1) => v.optional(v.pipe(v.string(), v.minLength(min, `must be at least ${min} characters`)), fallback)

/** Every environment variable of the ecommerce service (docs/environment.md is generated from it: `bun run docs`). */
export const ConfigSchema = v.object({
  NODE_ENV: v.optional(NodeEnvSchema, 'development'),
  PORT: PortSchema(3000),
  DATABASE_URL: v.optional(v.string()),
  DATABASE_CONNECT_TIMEOUT_SECONDS: DatabaseConnectTimeoutSchema,
  DELIVERY_API_URL: url('http://localhost:3001'),
  DELIVERY_API_KEY: str(DEV_DELIVERY_API_KEY),
  /** Per-attempt timeout of calls to the delivery service. */
  DELIVERY_TIMEOUT_MS: envInteger(5000, { min: 1, max: 120_000 }),
  PUBLIC_URL: url('http://localhost:3000'),
  /** Checked with the delivery service's rule for a given webhook secret (a refusal there would stop tracking). */
  WEBHOOK_SECRET: v.optional(WebhookSecretSchema, DEV_WEBHOOK_SECRET),
  JWT_SECRET: str(DEV_JWT_SECRET, 16),
  /** Lifetime of an access token in seconds. */
  JWT_EXPIRES_IN: envInteger(3600, { min: 1, max: 30 * 24 * 3600 }),
  ADMIN_EMAIL: v.optional(v.pipe(v.string(), v.trim(), v.toLowerCase(), v.email('must be an email address')), DEFAULT_ADMIN_EMAIL),
  ADMIN_PASSWORD: str(DEV_ADMIN_PASSWORD, 8),
  /** Bearer token for GET /metrics; without it /metrics is open in development and not served in production. */
  METRICS_TOKEN: v.optional(v.pipe(v.string(), v.minLength(16, 'must be at least 16 characters'))),
  LOG_LEVEL: v.optional(v.picklist(['debug', 'info', 'warn', 'error', 'silent'] satisfies LogLevel[]), 'info'),
  /** Failed logins of one account within LOGIN_WINDOW_SECONDS before it is locked. */
  LOGIN_MAX_FAILURES: envInteger(5, { min: 1, max: 1000 }),
  /** Failed logins from one client address (an IPv6 /64) within the window before it is locked. */
  LOGIN_MAX_FAILURES_PER_ADDRESS: envInteger(50, { min: 1, max: 100_000 }),
  /** Registrations (POST /users) from one client address within LOGIN_WINDOW_SECONDS. */
  REGISTRATIONS_PER_ADDRESS: envInteger(20, { min: 1, max: 100_000 }),
  LOGIN_WINDOW_SECONDS: envInteger(900, { min: 1, max: 86_400 }),
  /** The first lock; each next lock of the same account or address lasts twice as long, up to an hour (or this, if longer). */
  LOGIN_LOCK_SECONDS: envInteger(60, { min: 1, max: 86_400 }),
  /**
   * How many reverse proxies in front of the service append the client address to X-Forwarded-For.
   * 0 (default): the socket address is the client (the header is ignored: anyone could forge it).
   */
  TRUST_PROXY_HOPS: envInteger(0, { max: 99, format: 'must be a whole number of proxies (0 when none)' }),
  /**
   * Purchases in the database at once, per replica; the others wait their turn in the service, in
   * arrival order. Purchases of a hot product queue on its row lock, and every connection they
   * hold is one that reads cannot use: at most all but one of the pool's (docs/design.md, "Purchases take turns").
   */
  PURCHASE_CONCURRENCY: envInteger(4, {
    min: 1,
    max: POOL_SIZE - 1,
    range: `must be from 1 to ${POOL_SIZE - 1} (the database pool has ${POOL_SIZE} connections)`,
  }),
  /** Purchases of one customer waiting or running at once, per replica; one more answers 429. */
  PURCHASES_PER_CUSTOMER: envInteger(4, { min: 1, max: 1000 }),
  /** Purchases waiting for their turn, per replica; one more answers 503 `purchases-busy`. */
  PURCHASE_QUEUE_LIMIT: envInteger(256, { min: 1, max: 100_000 }),
  /**
   * Megabytes of request bodies the process reads at once (a declared body counts its length, a
   * streamed one the 1 MB it may reach); past it a request with a body answers 503
   * `request-bodies-busy` with Retry-After, unread.
   */
  REQUEST_BODY_BUFFER_MB: envInteger(64, { min: 1, max: 4096, format: 'must be a whole number of megabytes' }),
  /**
   * Days a received webhook id is remembered (`processed_webhooks`), the same variable as the
   * delivery service's retention; older records are purged hourly in small batches.
   */
  WEBHOOK_RETENTION_DAYS: envInteger(30, { min: 1, max: 3650, format: 'must be a whole number of days' }),
  /** `json` or `pretty` (readable lines); default: pretty at a terminal, else JSON; always JSON in production. */
  LOG_FORMAT: v.optional(v.picklist(LOG_FORMATS)),
})

export type Config = v.InferOutput<typeof ConfigSchema>

/**
 * Reads and checks the environment once. When NODE_ENV is production (any case) it refuses the
 * development values (the secrets, and the development administrator's email) and weak secrets: JWT_SECRET needs 32 characters, DELIVERY_API_KEY 24,
 * ADMIN_PASSWORD 12, each with some variety (see `secretWeakness`). ADMIN_PASSWORD must always pass
 * the user password rule (not the email, not a common password); the service runs that check with
 * `passwordWeaknessInChildProcess` so its dictionaries stay out of the idle process.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  options: { adminPasswordWeakness?: typeof passwordWeakness } = {},
): Config {
  const config = readConfig(ConfigSchema, env)
  refuseDevelopmentValues(env, [
    { name: 'DELIVERY_API_KEY', value: config.DELIVERY_API_KEY, devValues: [DEV_DELIVERY_API_KEY], minLength: 24 },
    { name: 'WEBHOOK_SECRET', value: config.WEBHOOK_SECRET, devValues: [DEV_WEBHOOK_SECRET] },
    { name: 'JWT_SECRET', value: config.JWT_SECRET, devValues: [DEV_JWT_SECRET], minLength: 32 },
    { name: 'ADMIN_EMAIL', value: config.ADMIN_EMAIL, devValues: [DEFAULT_ADMIN_EMAIL], exact: true },
    { name: 'ADMIN_PASSWORD', value: config.ADMIN_PASSWORD, devValues: [DEV_ADMIN_PASSWORD], minLength: 12 },
    { name: 'METRICS_TOKEN', value: config.METRICS_TOKEN, devValues: [], minLength: 24, optional: true },
  ])
  // The development pair (both defaults) passes the rule (ecommerce/test/footprint.test.ts checks it):
  // checking it again would cost every development start a child process.
  const developmentPair = config.ADMIN_PASSWORD === DEV_ADMIN_PASSWORD && config.ADMIN_EMAIL === DEFAULT_ADMIN_EMAIL
  const adminPassword = developmentPair
    ? undefined
    : (options.adminPasswordWeakness ?? passwordWeakness)(config.ADMIN_PASSWORD, { email: config.ADMIN_EMAIL })
  if (adminPassword) throw new ConfigError(`Invalid configuration:\n  ADMIN_PASSWORD: ${adminPassword.replace(/^password /, '')}`)
  return config
}
