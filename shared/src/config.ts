import * as v from 'valibot'

/**
 * Reads a service's configuration once from the environment, validated by a valibot schema.
 * Throws one readable error listing every bad variable.
 */
export function readConfig<S extends v.GenericSchema<Record<string, string | undefined>, unknown>>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): v.InferOutput<S> {
  const result = v.safeParse(schema, env)
  if (result.success) return result.output
  const lines = result.issues.map((i) => `  ${v.getDotPath(i) ?? 'config'}: ${i.message}`)
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/**
 * The one rule for a whole number read from an environment variable: digits only (`format` says
 * what it must be otherwise), between `min` (0 by default) and `max` (`range` is the message when
 * outside, valibot's own when omitted), `fallback` when the variable is unset.
 */
export const envInteger = (fallback: number, o: { min?: number; max: number; format?: string; range?: string }) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, o.format ?? 'must be a whole number'),
      v.transform(Number),
      v.minValue(o.min ?? 0, o.range),
      v.maxValue(o.max, o.range),
    ),
    String(fallback),
  )

/** A port number from an environment string. */
export const PortSchema = (fallback: number) => envInteger(fallback, { max: 65535, format: 'must be a port number' })

/** DATABASE_CONNECT_TIMEOUT_SECONDS: how long start-up waits for the database (0–3600 s, default 30). */
export const DatabaseConnectTimeoutSchema = envInteger(30, {
  max: 3600,
  format: 'must be a whole number of seconds',
  range: 'must be at most 3600 seconds',
})

/** The delivery API key of the development setup (both services' defaults); refused in production. */
export const DEV_DELIVERY_API_KEY = 'dev-delivery-key-change-me'

/**
 * NODE_ENV: `development`, `production` or `test`, in any case, or empty (development). Anything
 * else (`prod`, `staging`, a typo of production) is refused: it would start with the development
 * secrets without a word.
 */
export const NodeEnvSchema = v.pipe(
  v.string(),
  v.check((s) => ['', 'development', 'production', 'test'].includes(s.trim().toLowerCase()), 'must be development, production or test'),
)

/** True when NODE_ENV says production, whatever its case or surrounding blanks (`Production`, ` PRODUCTION`). */
export const isProduction = (env: { readonly NODE_ENV?: string } = process.env) => env.NODE_ENV?.trim().toLowerCase() === 'production'

/** What a production secret needs beyond its length: several different characters of at least two kinds. */
const MIN_DISTINCT = 10

/**
 * Why `value` is too weak to be a production secret, or undefined when it is strong enough:
 * at least `minLength` characters, at least 10 different ones, and at least two kinds among
 * lower-case letters, upper-case letters, digits and other characters.
 */
export function secretWeakness(value: string, minLength: number): string | undefined {
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((k) => k.test(value)).length
  const distinct = new Set(value).size
  if (value.length >= minLength && distinct >= MIN_DISTINCT && kinds >= 2) return undefined
  return `needs at least ${minLength} characters (has ${value.length}), at least ${MIN_DISTINCT} different ones (has ${distinct}) and two kinds of letters, digits or symbols (has ${kinds}); e.g. openssl rand -base64 ${Math.ceil((minLength * 3) / 4)}`
}

/**
 * Refuses development defaults and weak secrets in production (NODE_ENV compared case-insensitively):
 * `value` may not be empty or contain one of `devValues` (be one, with `exact`), and when `minLength` is given it must pass
 * `secretWeakness`. `values` checks several secrets under one name (each key of a list).
 */
export function refuseDevelopmentValues(
  env: Record<string, string | undefined>,
  checks: {
    name: string
    value: string | undefined
    devValues: readonly string[]
    minLength?: number
    values?: string[]
    /** Unset is fine (the feature is off); when set, it must be strong. */
    optional?: boolean
    /** Refused only when it is a development value, not when it contains one (an email). */
    exact?: boolean
  }[],
) {
  if (!isProduction(env)) return
  checks = checks.filter((c) => !c.optional || c.value !== undefined)
  const bad = checks.filter((c) => !c.value || c.devValues.some((d) => (c.exact ? c.value === d : c.value!.includes(d))))
  if (bad.length > 0)
    throw new ConfigError(`NODE_ENV=production refuses development defaults; set ${bad.map((b) => b.name).join(', ')} to real values`)
  const weak = checks.flatMap((c) => {
    if (c.minLength === undefined) return []
    return (c.values ?? [c.value!]).flatMap((value) => {
      const why = secretWeakness(value, c.minLength!)
      return why ? [`  ${c.name}: too weak for production: ${why}`] : []
    })
  })
  if (weak.length > 0) throw new ConfigError(`Invalid configuration:\n${weak.join('\n')}`)
}
