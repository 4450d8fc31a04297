-- POST /purchases in one round trip (see purchases/service.ts, which calls it and tests it).
-- p_lines: [{ "product_id": uuid, "quantity": int }], one per product, sorted by product_id.
-- Returns { "unknown": [ids] } or { "no_address": true } having written nothing, or the purchase:
-- { "purchase": row, "orders": [rows], "lines": [{ product_id, sku, name, seller_id, quantity }] }.
-- When any line is short it raises SQLSTATE LS409 with the short lines as JSON in DETAIL, so the
-- whole purchase rolls back: nothing changes.
-- The stock is taken after the purchase and its orders are written, line by line in product id
-- order (every buyer locks in the same order: no deadlocks): the hot product rows stay locked only
-- from those updates to the commit, with no network round trip in between.
CREATE OR REPLACE FUNCTION place_purchase(p_customer uuid, p_lines jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_unknown jsonb;
  v_name text;
  v_address text;
  v_purchase purchases%ROWTYPE;
  v_lines jsonb;
  v_orders jsonb;
  v_line record;
  v_short jsonb := '[]';
BEGIN
  -- The catalogue's view of every line (no lock: a snapshot read).
  SELECT jsonb_agg(jsonb_build_object('product_id', w.product_id, 'quantity', w.quantity, 'sku', p.sku, 'name', p.name,
                                      'seller_id', p.seller_id, 'origin_address', s.warehouse_address) ORDER BY w.product_id),
         jsonb_agg(w.product_id) FILTER (WHERE p.id IS NULL)
    INTO v_lines, v_unknown
    FROM jsonb_to_recordset(p_lines) AS w(product_id uuid, quantity integer)
    LEFT JOIN (products p JOIN sellers s ON s.id = p.seller_id AND s.deleted_at IS NULL AND s.warehouse_address IS NOT NULL)
      ON p.id = w.product_id AND p.deleted_at IS NULL;
  IF v_unknown IS NOT NULL THEN
    RETURN jsonb_build_object('unknown', v_unknown);
  END IF;

  SELECT name, shipping_address INTO v_name, v_address FROM users WHERE id = p_customer;
  IF v_address IS NULL THEN
    RETURN jsonb_build_object('no_address', true);
  END IF;

  -- The purchase and one order per seller with its snapshots.
  INSERT INTO purchases (customer_id) VALUES (p_customer) RETURNING * INTO v_purchase;
  WITH new_orders AS (
    INSERT INTO orders (purchase_id, seller_id, customer_id, status, delivery_name, delivery_address, origin_address)
    SELECT DISTINCT v_purchase.id, l.seller_id, p_customer, 'created', v_name, v_address, l.origin_address
      FROM jsonb_to_recordset(v_lines) AS l(seller_id uuid, origin_address text)
    RETURNING *
  )
  SELECT jsonb_agg(to_jsonb(o) ORDER BY o.seller_id) INTO v_orders FROM new_orders o;

  -- The stock, in product id order. From here to the commit the product rows are locked; the
  -- items are inserted after, so their foreign-key checks find the rows locked by this very
  -- transaction (no multixact of concurrent key-share lockers on the hot rows).
  FOR v_line IN SELECT * FROM jsonb_to_recordset(p_lines) AS w(product_id uuid, quantity integer) ORDER BY product_id LOOP
    UPDATE products SET quantity = quantity - v_line.quantity, updated_at = now()
     WHERE id = v_line.product_id AND quantity >= v_line.quantity AND deleted_at IS NULL;
    IF NOT FOUND THEN
      v_short := v_short || (
        SELECT jsonb_build_object('product_id', p.id, 'sku', p.sku, 'requested', v_line.quantity,
                                  'available', CASE WHEN p.deleted_at IS NULL THEN p.quantity ELSE 0 END)
          FROM products p WHERE p.id = v_line.product_id);
    END IF;
  END LOOP;
  IF jsonb_array_length(v_short) > 0 THEN
    RAISE EXCEPTION 'insufficient-stock' USING ERRCODE = 'LS409', DETAIL = v_short::text;
  END IF;

  -- The items and the history.
  WITH o AS (
    SELECT * FROM jsonb_to_recordset(v_orders) AS o(id uuid, seller_id uuid)
  ), new_items AS (
    INSERT INTO order_items (order_id, product_id, sku, name, quantity)
    SELECT o.id, l.product_id, l.sku, l.name, l.quantity
      FROM jsonb_to_recordset(v_lines) AS l(product_id uuid, quantity integer, sku text, name text, seller_id uuid)
      JOIN o ON o.seller_id = l.seller_id
  )
  INSERT INTO order_events (order_id, status, actor_id) SELECT id, 'created', p_customer FROM o;

  RETURN jsonb_build_object('purchase', to_jsonb(v_purchase), 'orders', v_orders, 'lines', v_lines);
END
$$;
