-- The tick rewrites status and updated_at of every open delivery. With free space left in each page
-- and no index on those columns, Postgres can do these as HOT updates (no index maintenance).
ALTER TABLE "deliveries" SET (fillfactor = 50);
