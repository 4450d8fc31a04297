import * as v from 'valibot'
import { PortSchema, readConfig, refuseDevelopmentValues } from '@logistics/shared'
import { LOG_FORMATS, type LogLevel } from '@logistics/shared'

export const DEV_DELIVERY_API_KEY = 'dev-delivery-key-change-me'
export const DEV_WEBHOOK_SECRET = 'whsec_' + Buffer.from('development-webhook-secret-change-me').toString('base64')
export const DEV_JWT_SECRET = 'development-jwt-secret-change-me'
export const DEV_ADMIN_PASSWORD = 'admin-password-change-me'

const url = (fallback: string) =>
  v.optional(
    v.pipe(
      v.string(),
      v.url('must be a URL'),
      v.transform((u) => u.replace(/\/+$/, '')),
    ),
    fallback,
  )

const str = (fallback: string, min = 1) => v.optional(v.pipe(v.string(), v.minLength(min, `must be at least ${min} characters`)), fallback)

const positiveInt = (fallback: number, max = 10_000_000) =>
  v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,9}$/, 'must be a whole number'), v.transform(Number), v.minValue(1), v.maxValue(max)),
    String(fallback),
  )

export const ConfigSchema = v.object({
  NODE_ENV: v.optional(v.string(), 'development'),
  PORT: PortSchema(3000),
  DATABASE_URL: v.optional(v.string()),
  DELIVERY_API_URL: url('http://localhost:3001'),
  DELIVERY_API_KEY: str(DEV_DELIVERY_API_KEY),
  /** Per-attempt timeout of calls to the delivery service. */
  DELIVERY_TIMEOUT_MS: positiveInt(5000, 120_000),
  PUBLIC_URL: url('http://localhost:3000'),
  WEBHOOK_SECRET: str(DEV_WEBHOOK_SECRET),
  JWT_SECRET: str(DEV_JWT_SECRET, 16),
  /** Lifetime of an access token in seconds. */
  JWT_EXPIRES_IN: positiveInt(3600, 30 * 24 * 3600),
  ADMIN_EMAIL: v.optional(v.pipe(v.string(), v.trim(), v.toLowerCase(), v.email('must be an email address')), 'admin@example.com'),
  ADMIN_PASSWORD: str(DEV_ADMIN_PASSWORD, 8),
  LOG_LEVEL: v.optional(v.picklist(['debug', 'info', 'warn', 'error', 'silent'] satisfies LogLevel[]), 'info'),
  /** `json` or `pretty` (readable lines); default: pretty at a terminal, else JSON; always JSON in production. */
  LOG_FORMAT: v.optional(v.picklist(LOG_FORMATS)),
})

export type Config = v.InferOutput<typeof ConfigSchema>

/** Reads and checks the environment once; refuses development secrets when NODE_ENV=production. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const config = readConfig(ConfigSchema, env)
  refuseDevelopmentValues(env, [
    { name: 'DELIVERY_API_KEY', value: config.DELIVERY_API_KEY, devValues: [DEV_DELIVERY_API_KEY] },
    { name: 'WEBHOOK_SECRET', value: config.WEBHOOK_SECRET, devValues: [DEV_WEBHOOK_SECRET] },
    { name: 'JWT_SECRET', value: config.JWT_SECRET, devValues: [DEV_JWT_SECRET] },
    { name: 'ADMIN_PASSWORD', value: config.ADMIN_PASSWORD, devValues: [DEV_ADMIN_PASSWORD] },
  ])
  return config
}
