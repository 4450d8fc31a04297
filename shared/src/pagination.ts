import { and, asc, count, desc, type SQL, sql } from 'drizzle-orm'
import type { PgColumn, PgSelect, PgTable } from 'drizzle-orm/pg-core'
import { isUuid, type Pagination, TOTAL_EXACT_UP_TO } from './contract'
import { type AnyDb, queryRows } from './db'
import { unprocessable } from './problem'

/**
 * The one list query of both services: `limit`/`offset`, keyset paging by an opaque cursor, and a
 * `total` that stays cheap at millions of rows.
 *
 * The order is a keyset: a timestamp then a unique tie-breaker (`created_at, id`), or one unique
 * column (`id`), ascending or descending, and an index on (filter columns…, keyset columns…) makes
 * both the first page and a page deep in the list (by cursor) one short index range scan. The
 * cursor carries the last row's keyset values exactly (timestamps to the microsecond, as text from
 * PostgreSQL: a JS Date would lose the microseconds and skip or repeat rows).
 */
export type Keyset = { columns: [PgColumn] | [PgColumn, PgColumn]; direction: 'asc' | 'desc' }

export type PageQuery = {
  /** The key column to select beside the row (`.select({ …, key })`): the cursor is made from it. */
  key: SQL.Aliased<string>
  /** The caller's filter and the cursor's bound. */
  where: SQL | undefined
  orderBy: SQL[]
  /** One more than the page, to know whether a next page exists. */
  limit: number
  offset: number
}

export type PageMeta = { total: number; limit: number; offset: number; next_cursor: string | null }

type Kind = { text: (c: PgColumn) => SQL; cast: string; valid: (value: string) => boolean }
const KINDS: Record<string, Kind> = {
  timestamp: {
    text: (c) => sql`to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    cast: 'timestamptz',
    valid: (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(value),
  },
  uuid: { text: (c) => sql`${c}::text`, cast: 'uuid', valid: isUuid },
  bigint: { text: (c) => sql`${c}::text`, cast: 'bigint', valid: (value) => /^\d{1,18}$/.test(value) },
}

function kindOf(column: PgColumn): Kind {
  const type = column.getSQLType()
  if (type.startsWith('timestamp')) return KINDS.timestamp!
  if (type === 'uuid') return KINDS.uuid!
  if (type.startsWith('bigserial') || type === 'bigint' || type === 'integer' || type === 'serial') return KINDS.bigint!
  throw new Error(`no keyset paging on a ${type} column`)
}

const badCursor = () =>
  unprocessable(
    [{ path: 'cursor', message: 'cursor is not a cursor of this list' }],
    'The cursor is not valid here; start again without it',
  )

/** The opaque cursor: the keyset values, space-separated, in base64url. */
const encodeCursor = (key: string) => Buffer.from(key, 'utf8').toString('base64url')

function decodeCursor(cursor: string, kinds: Kind[]): string[] {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor()
  const values = Buffer.from(cursor, 'base64url').toString('utf8').split(' ')
  if (values.length !== kinds.length || values.some((value, i) => !kinds[i]!.valid(value))) throw badCursor()
  // A real calendar date PostgreSQL accepts: no February 30 (which JS rolls over), no year 0.
  if (kinds[0] === KINDS.timestamp && !realTimestamp(values[0]!)) throw badCursor()
  return values
}

function realTimestamp(value: string): boolean {
  const date = new Date(value)
  return !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1 && date.toISOString().slice(0, 19) === value.slice(0, 19)
}

/**
 * One page of a list. `rows` runs the page query (select the given `key` too); `counted` builds the
 * select of every matching row (any columns), for `total`: the planner's estimate when it expects
 * more than ESTIMATE_TRUSTED_ABOVE rows, otherwise an exact count capped at TOTAL_EXACT_UP_TO
 * (then the estimate, never below the cap); a list that fits on its first page counts itself.
 */
export async function paginate<R extends { key: string }>(
  db: AnyDb,
  spec: {
    page: Pagination
    keyset: Keyset
    where: SQL | undefined
    rows: (q: PageQuery) => Promise<R[]>
    counted: (where: SQL | undefined) => PgSelect
  },
): Promise<{ rows: R[]; meta: PageMeta }> {
  const { page, keyset } = spec
  const kinds = keyset.columns.map(kindOf)
  const key = sql
    .join(
      keyset.columns.map((c, i) => kinds[i]!.text(c)),
      sql` || ' ' || `,
    )
    .mapWith(String)
    .as('page_key') as SQL.Aliased<string>
  let bound: SQL | undefined
  if (page.cursor !== undefined) {
    const values = decodeCursor(page.cursor, kinds)
    const left = sql.join(keyset.columns, sql`, `)
    const right = sql.join(
      values.map((value, i) => sql`${value}::${sql.raw(kinds[i]!.cast)}`),
      sql`, `,
    )
    bound = keyset.direction === 'desc' ? sql`(${left}) < (${right})` : sql`(${left}) > (${right})`
  }
  const orderBy = keyset.columns.map((c) => (keyset.direction === 'desc' ? desc(c) : asc(c)))
  const [fetched, estimate] = await Promise.all([
    spec.rows({ key, where: and(spec.where, bound), orderBy, limit: page.limit + 1, offset: page.offset }),
    estimateRows(db, spec.counted(spec.where)),
  ])
  const rows = fetched.slice(0, page.limit)
  const next_cursor = fetched.length > page.limit ? encodeCursor(rows.at(-1)!.key) : null
  let total: number
  if (page.offset === 0 && page.cursor === undefined && next_cursor === null)
    total = rows.length // the whole list is this page
  else if (estimate > ESTIMATE_TRUSTED_ABOVE) total = estimate
  else total = await countCapped(db, spec.counted(spec.where), estimate)
  return { rows, meta: { total, limit: page.limit, offset: page.offset, next_cursor } }
}

/**
 * `paginate` for the common case: the rows of one table matching `where`, in `keyset` order.
 */
export async function paginateTable<T extends PgTable>(
  db: AnyDb,
  table: T,
  spec: { page: Pagination; keyset: Keyset; where: SQL | undefined },
): Promise<{ rows: T['$inferSelect'][]; meta: PageMeta }> {
  const from = table as PgTable
  const { rows, meta } = await paginate(db, {
    ...spec,
    rows: (q) =>
      db
        .select({ row: from, key: q.key })
        .from(from)
        .where(q.where)
        .orderBy(...q.orderBy)
        .limit(q.limit)
        .offset(q.offset) as Promise<{ row: T['$inferSelect']; key: string }[]>,
    counted: (where) =>
      db
        .select({ one: sql<number>`1`.as('one') })
        .from(from)
        .where(where)
        .$dynamic(),
  })
  return { rows: rows.map((r) => r.row), meta }
}

/** Planner estimates above this are answered as they are, without counting. */
const ESTIMATE_TRUSTED_ABOVE = 10 * TOTAL_EXACT_UP_TO

/** The planner's row estimate for the query: planning only, no scan. */
async function estimateRows(db: AnyDb, matching: PgSelect): Promise<number> {
  const [plan] = await queryRows<Record<string, unknown>>(db, sql`explain (format json) select 1 from ${matching.as('matching')}`)
  const json = Object.values(plan ?? {})[0]
  const parsed = (typeof json === 'string' ? JSON.parse(json) : json) as { Plan?: { 'Plan Rows'?: number } }[]
  return Math.round(parsed?.[0]?.Plan?.['Plan Rows'] ?? 0)
}

/** `count(*)` over at most TOTAL_EXACT_UP_TO + 1 rows (an index-only scan of a few thousand entries at most). */
async function countCapped(db: AnyDb, matching: PgSelect, estimate: number): Promise<number> {
  const [row] = await db.select({ n: count() }).from(matching.limit(TOTAL_EXACT_UP_TO + 1).as('capped'))
  const n = row?.n ?? 0
  return n <= TOTAL_EXACT_UP_TO ? n : Math.max(TOTAL_EXACT_UP_TO + 1, estimate)
}
