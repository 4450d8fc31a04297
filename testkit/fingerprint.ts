import { type Db, queryRows } from '@logistics/shared/db'
import { sql } from 'drizzle-orm'

export type TableFingerprint = Record<string, { rows: number; md5: string }>

/**
 * Row count and an md5 of every row (in text form, sorted) of every table of the public schema:
 * two equal fingerprints mean no row was inserted, updated or deleted in between.
 */
export async function databaseFingerprint(db: Db<any>): Promise<TableFingerprint> {
  const tables = await queryRows<{ name: string }>(
    db,
    sql`select table_name as name from information_schema.tables
        where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
  )
  const result: TableFingerprint = {}
  for (const { name } of tables) {
    const ident = sql.identifier(name)
    const [row] = await queryRows<{ rows: number | string; md5: string | null }>(
      db,
      sql`select count(*)::int as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as md5 from ${ident} t`,
    )
    result[name] = { rows: Number(row!.rows), md5: row!.md5 ?? '' }
  }
  return result
}

/** Tables whose fingerprint differs, with before/after. */
export function fingerprintDiff(before: TableFingerprint, after: TableFingerprint) {
  const names = new Set([...Object.keys(before), ...Object.keys(after)])
  return [...names]
    .filter((n) => JSON.stringify(before[n]) !== JSON.stringify(after[n]))
    .map((n) => ({ table: n, before: before[n], after: after[n] }))
}
