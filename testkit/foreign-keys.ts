import { type AnyDb, queryRows } from '@logistics/shared/db'
import { sql } from 'drizzle-orm'

/**
 * The foreign keys of a database that no full (non-partial, valid) index leads with: each is
 * `table (columns) -> referenced table`. A delete of a referenced row (or an ON DELETE CASCADE)
 * looks the referencing rows up by those columns; without such an index it scans the whole table
 * for every row deleted. A partial index does not serve the check (the planner cannot prove its
 * predicate), and an index serves only when the key's columns are its leading ones (any order).
 */
export async function unindexedForeignKeys(db: AnyDb): Promise<string[]> {
  const rows = await queryRows<{ fk: string }>(
    db,
    sql`
    select c.conrelid::regclass::text || ' (' || (
             select string_agg(a.attname, ', ' order by k.ord)
             from unnest(c.conkey) with ordinality k(attnum, ord)
             join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
           ) || ') -> ' || c.confrelid::regclass::text as fk
    from pg_constraint c
    where c.contype = 'f'
      and not exists (
        select 1 from pg_index i
        where i.indrelid = c.conrelid and i.indpred is null and i.indisvalid
          and (select array_agg(x order by x) from unnest((string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)]) x)
            = (select array_agg(x order by x) from unnest(c.conkey) x)
      )
    order by 1`,
  )
  return rows.map((r) => r.fk)
}
