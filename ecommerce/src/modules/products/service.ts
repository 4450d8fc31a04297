import type { ListEnvelope, Pagination } from '@logistics/shared'
import { conflict, notFound } from '@logistics/shared'
import { driverQuery, oncePerDb } from '@logistics/shared/db'
import { paginate } from '@logistics/shared/pagination'
import { and, eq, isNull } from 'drizzle-orm'
import type { DbOrTx, EcommerceDb } from '../../context'
import { products, sellers } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import { iso, isUniqueViolation } from '../common'
import type { ProductJson } from './model'

function toProductJson(p: typeof products.$inferSelect): ProductJson {
  return {
    id: p.id,
    seller_id: p.sellerId,
    sku: p.sku,
    name: p.name,
    description: p.description,
    quantity: p.quantity,
    created_at: iso(p.createdAt),
    updated_at: iso(p.updatedAt),
  }
}

const skuTaken = (sku: string) => conflict('sku-taken', `This seller already has a product with sku ${sku}`, { sku })

/** In the catalogue: not deleted, and its seller not deleted. */
const inCatalogue = and(isNull(products.deletedAt), isNull(sellers.deletedAt))

export async function listProducts(db: DbOrTx, query: Pagination & { seller_id?: string }): Promise<ListEnvelope<ProductJson>> {
  const where = query.seller_id ? and(inCatalogue, eq(products.sellerId, query.seller_id)) : inCatalogue
  const { rows, meta } = await paginate(db, {
    page: query,
    keyset: { columns: [products.createdAt, products.id], direction: 'desc' },
    where,
    rows: (q) =>
      db
        .select({ p: products, key: q.key })
        .from(products)
        .innerJoin(sellers, eq(sellers.id, products.sellerId))
        .where(q.where)
        .orderBy(...q.orderBy)
        .limit(q.limit)
        .offset(q.offset),
    counted: (w) => db.select({ id: products.id }).from(products).innerJoin(sellers, eq(sellers.id, products.sellerId)).where(w).$dynamic(),
  })
  return { data: rows.map((r) => toProductJson(r.p)), ...meta }
}

const catalogueRead = oncePerDb(driverQuery)

/**
 * A product of the catalogue: the hottest read, sent by the driver itself (see `driverQuery`).
 * The same filter as `inCatalogue`; the timestamps formatted as `toISOString` does (UTC,
 * milliseconds truncated), and the bigint stock as a float8 (exact up to MAX_STOCK; the drivers
 * read an int8 as a string), so this answer matches the lists' for the same product.
 */
export async function getProduct(db: EcommerceDb, id: string): Promise<ProductJson> {
  const [row] = await catalogueRead(db)<ProductJson>`
    select p.id, p.seller_id, p.sku, p.name, p.description, p.quantity::float8 as quantity,
           to_char(p.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
           to_char(p.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as updated_at
    from products p join sellers s on s.id = p.seller_id
    where p.id = ${id} and p.deleted_at is null and s.deleted_at is null`
  if (!row) throw notFound('No such product')
  return row
}

export async function createProduct(
  db: DbOrTx,
  user: CurrentUser,
  input: { sku: string; name: string; description: string; quantity: number },
): Promise<ProductJson> {
  const [seller] = await db
    .select({ warehouseAddress: sellers.warehouseAddress })
    .from(sellers)
    .where(and(eq(sellers.id, user.sellerId!), isNull(sellers.deletedAt)))
  if (!seller) throw notFound('No such seller')
  if (!seller.warehouseAddress)
    throw conflict('warehouse-address-required', 'Set the warehouse address of the seller (PATCH /sellers/{id}) before creating products')
  try {
    const [row] = await db
      .insert(products)
      .values({ sellerId: user.sellerId!, ...input })
      .returning()
    return toProductJson(row!)
  } catch (error) {
    if (isUniqueViolation(error)) throw skuTaken(input.sku)
    throw error
  }
}

/** Seller users edit only their own seller's live products; any other id answers 404. */
export async function updateProduct(
  db: DbOrTx,
  user: CurrentUser,
  id: string,
  input: { sku?: string; name?: string; description?: string; quantity?: number },
): Promise<ProductJson> {
  try {
    const [row] = await db
      .update(products)
      .set({ ...input, updatedAt: new Date() })
      .where(and(eq(products.id, id), eq(products.sellerId, user.sellerId!), isNull(products.deletedAt)))
      .returning()
    if (!row) throw notFound('No such product')
    return toProductJson(row)
  } catch (error) {
    if (isUniqueViolation(error)) throw skuTaken(input.sku ?? '')
    throw error
  }
}

export async function deleteProduct(db: DbOrTx, user: CurrentUser, id: string): Promise<void> {
  const now = new Date()
  const [row] = await db
    .update(products)
    .set({ deletedAt: now, updatedAt: now })
    .where(and(eq(products.id, id), eq(products.sellerId, user.sellerId!), isNull(products.deletedAt)))
    .returning({ id: products.id })
  if (!row) throw notFound('No such product')
}
