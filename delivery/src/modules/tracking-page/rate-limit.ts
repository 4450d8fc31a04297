/**
 * A token bucket per client address, in this process's memory: the public tracking page's guard
 * against enumerating tracking numbers (see docs/tracking-page.md for the numbers).
 *
 * A request needs one token to be served, and is charged the dearer cost up front (`missCost`):
 * a number that shows a parcel gets the difference back (`hitCost` in all), one that does not keeps
 * paying. So concurrent guesses cannot overdraw the bucket by more than one request's cost, and a
 * refused request costs nothing (a client retrying too early does not extend its wait). Buckets
 * refill continuously up to `capacity`; the map is bounded (`maxClients`, least recently seen
 * evicted first), so memory stays flat whatever the number of addresses.
 */
export type RateLimitSettings = {
  /** Tokens a bucket holds (a new or idle client starts full). */
  capacity: number
  /** Tokens added per second. */
  refillPerSecond: number
  /** What a lookup that shows a parcel costs. */
  hitCost: number
  /** What a lookup that shows none costs (unknown, malformed or withdrawn number). */
  missCost: number
  /** Addresses remembered at once. */
  maxClients: number
}

export const TRACKING_RATE_LIMIT: RateLimitSettings = {
  capacity: 60,
  refillPerSecond: 1,
  hitCost: 1,
  missCost: 10,
  maxClients: 10_000,
}

type Bucket = { tokens: number; at: number }

export type Admission = { ok: true; hit(): void } | { ok: false; retryAfterSeconds: number }

export function createRateLimiter(settings: RateLimitSettings = TRACKING_RATE_LIMIT, now: () => number = () => performance.now()) {
  const buckets = new Map<string, Bucket>()

  /** The client's bucket, refilled to now and moved to the most recently seen end of the map. */
  function bucketOf(key: string): Bucket {
    const t = now()
    let bucket = buckets.get(key)
    if (bucket) {
      buckets.delete(key)
      bucket.tokens = Math.min(settings.capacity, bucket.tokens + ((t - bucket.at) / 1000) * settings.refillPerSecond)
      bucket.at = t
    } else {
      bucket = { tokens: settings.capacity, at: t }
      // Evict the least recently seen: a Map iterates in insertion order.
      while (buckets.size >= settings.maxClients) buckets.delete(buckets.keys().next().value!)
    }
    buckets.set(key, bucket)
    return bucket
  }

  return {
    /**
     * Admits one request of `key`, charging it a miss; `hit()` refunds down to a hit's cost once
     * the request found its parcel. Refused: how long until the bucket has a token again.
     */
    admit(key: string): Admission {
      const bucket = bucketOf(key)
      if (bucket.tokens < 1) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / settings.refillPerSecond)) }
      bucket.tokens -= settings.missCost
      return {
        ok: true,
        hit: () => {
          bucket.tokens = Math.min(settings.capacity, bucket.tokens + settings.missCost - settings.hitCost)
        },
      }
    },
    /** Addresses remembered now (for tests). */
    get size() {
      return buckets.size
    },
  }
}
