import * as v from 'valibot'

/**
 * How a valibot schema appears in the OpenAPI documents (shared/src/http/openapi.ts builds them):
 *
 * - `named('Order', schema)` gives a schema its component name: wherever it is used it becomes
 *   `$ref: '#/components/schemas/Order'`, so a generated client has an `Order` type.
 * - `documentedAs(schema, json)` documents a schema as the given JSON Schema instead of its
 *   conversion (a query parameter read as a string and parsed into a number is `integer` there).
 *
 * Both are a registry keyed by the schema object itself: nothing changes how the schema validates.
 */

type Documentation = { name: string } | { json: Record<string, unknown> }

const registry = new Map<object, Documentation>()
const byName = new Map<string, object>()

/** Registers `schema` as the component `name` (PascalCase) and answers it unchanged. */
export function named<T extends v.GenericSchema>(name: string, schema: T): T {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new Error(`schema name ${name} is not PascalCase`)
  const taken = byName.get(name)
  if (taken && taken !== schema) throw new Error(`two schemas are named ${name}`)
  byName.set(name, schema)
  registry.set(schema, { name })
  return schema
}

/** Documents `schema` as `json` (its own conversion is not used); answers it unchanged. */
export function documentedAs<T extends v.GenericSchema>(schema: T, json: Record<string, unknown>): T {
  registry.set(schema, { json })
  return schema
}

/** Every schema with a name or a documented form (read by the document builder). */
export const documentedSchemas = (): ReadonlyMap<object, Documentation> => registry

/** The component name of a schema, when it has one. */
export function schemaName(schema: object): string | undefined {
  const entry = registry.get(schema)
  return entry && 'name' in entry ? entry.name : undefined
}

/**
 * Response fields: a string the document describes with its `format` (uuid, date-time, email, uri).
 * The format is documented, not checked on the way out (the values come from the database, which
 * already holds them in that form); the test kit checks every answer against the document.
 */
const formatted = (format: string) => v.pipe(v.string(), v.metadata({ format }))
export const UuidString = formatted('uuid')
export const DateTimeString = formatted('date-time')
export const EmailString = formatted('email')
export const UriString = formatted('uri')

/** A whole number in a response (counts, quantities, ids of a sequence): `integer` in the document. */
export const Integer = v.pipe(v.number(), v.integer())
