import * as v from 'valibot'

/**
 * Reads a service's configuration once from the environment, validated by a valibot schema.
 * Throws one readable error listing every bad variable.
 */
export function readConfig<S extends v.GenericSchema<Record<string, string | undefined>, any>>(
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

/** A port number from an environment string. */
export const PortSchema = (fallback: number) =>
  v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,5}$/, 'must be a port number'), v.transform(Number), v.minValue(0), v.maxValue(65535)),
    String(fallback),
  )

/**
 * Refuses development defaults in production: `value` may not be one of `devValues` (or empty)
 * when NODE_ENV=production.
 */
export function refuseDevelopmentValues(
  env: Record<string, string | undefined>,
  checks: { name: string; value: string | undefined; devValues: readonly string[] }[],
) {
  if (env.NODE_ENV !== 'production') return
  const bad = checks.filter((c) => !c.value || c.devValues.some((d) => c.value!.includes(d)))
  if (bad.length > 0)
    throw new ConfigError(
      `NODE_ENV=production refuses development defaults; set ${bad.map((b) => b.name).join(', ')} to real secrets`,
    )
}
