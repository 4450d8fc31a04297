#!/usr/bin/env bash
# The README's curl walkthrough, runnable: every user story against a running pair of services, each
# answer checked as it goes. `bun run docs` copies each block between `# >>> readme: NAME` and
# `# <<< readme` into the README (between `<!-- walkthrough: NAME -->` markers); the docs test checks the
# copy, so the README shows exactly what CI runs.
#
#   bash scripts/walkthrough.sh    # against `bun run dev`; ECOMMERCE_URL, DELIVERY_URL move it
#
# Exits non-zero, naming the step, at the first answer that is not what the walkthrough says. It waits
# for the parcel's first move (at most two ticks), so it takes up to a minute at the default 30 s tick.
# CI runs it against a fresh `bun run dev` (scripts/walkthrough-check.ts).
set -euo pipefail

# >>> readme: helpers
# Helpers: Bun reads the JSON (no jq needed). `step` names what follows; `json EXPR` prints EXPR of the
# answer `d` and stops unless it is set; `expect EXPR` prints the answer and stops unless EXPR holds of it.
E=${ECOMMERCE_URL:-http://localhost:3000} D=${DELIVERY_URL:-http://localhost:3001} S=$RANDOM
step() { export STEP="$*"; printf '\n# %s\n' "$STEP"; }
json() { X=$1 bun -e 'const t = await Bun.stdin.text(), x = process.env.X; let v; try { v = Function("d", `return (${x})`)(JSON.parse(t)) } catch {}
  if (v == null) { console.error(`✗ ${process.env.STEP}: no ${x} in ${t.slice(0, 400)}`); process.exit(1) } console.log(v)'; }
expect() { X=$1 bun -e 'const t = await Bun.stdin.text(), x = process.env.X; let d = t, ok; try { d = JSON.parse(t) } catch {}
  console.log(d === t ? `${t.slice(0, 120)}…` : t); try { ok = Function("d", `return (${x})`)(d) } catch {}
  if (!ok) { console.error(`✗ ${process.env.STEP}: expected ${x}`); process.exit(1) }'; }
JSON='content-type: application/json'
step 'Both services answer, and ecommerce has registered its webhook'
curl -s $D/health | expect 'd.status === "ok"'
curl -s $E/health | expect 'd.webhook_registration.state === "registered"'
# <<< readme

# >>> readme: sellers
step 'Marketplace administrator: log in, create two sellers with their Seller Administrator Users'
ADMIN=$(curl -s -X POST $E/auth/login -H "$JSON" \
  -d '{"email":"admin@example.com","password":"admin-password-change-me"}' | json d.access_token)
SELLER1=$(curl -s -X POST $E/sellers -H "authorization: Bearer $ADMIN" -H "$JSON" \
  -d '{"name":"Acme Tools '$S'","description":"Hand tools","admins":[{"email":"boss'$S'@acme.example","password":"acme-password-1","name":"Acme Boss"}]}' | json d.id)
SELLER2=$(curl -s -X POST $E/sellers -H "authorization: Bearer $ADMIN" -H "$JSON" \
  -d '{"name":"Blue Paints '$S'","description":"Paint","warehouse_address":"Dock 9, Hamburg","admins":[{"email":"boss'$S'@blue.example","password":"blue-password-1","name":"Blue Boss"}]}' | json d.id)
curl -s "$E/sellers?limit=5" -H "authorization: Bearer $ADMIN" | expect 'd.total >= 2'
curl -s -X PATCH $E/sellers/$SELLER1 -H "authorization: Bearer $ADMIN" -H "$JSON" \
  -d '{"description":"Hand tools since 1921"}' | expect 'd.description === "Hand tools since 1921"'
step 'Seller users: no product before a warehouse address (409), then products'
ACME=$(curl -s -X POST $E/auth/login -H "$JSON" -d '{"email":"boss'$S'@acme.example","password":"acme-password-1"}' | json d.access_token)
BLUE=$(curl -s -X POST $E/auth/login -H "$JSON" -d '{"email":"boss'$S'@blue.example","password":"blue-password-1"}' | json d.access_token)
curl -s -X POST $E/products -H "authorization: Bearer $ACME" -H "$JSON" \
  -d '{"sku":"HAMMER","name":"Claw hammer","description":"16 oz","quantity":10}' | expect 'd.code === "warehouse-address-required"'
curl -s -X PATCH $E/sellers/$SELLER1 -H "authorization: Bearer $ACME" -H "$JSON" \
  -d '{"warehouse_address":"Unit 4, Mill Lane, Leeds"}' | expect 'd.warehouse_address === "Unit 4, Mill Lane, Leeds"'
# The seller's administrator adds and lists the seller's users.
curl -s -X POST $E/sellers/$SELLER1/users -H "authorization: Bearer $ACME" -H "$JSON" \
  -d '{"email":"clerk'$S'@acme.example","password":"clerk-password-1","name":"Acme Clerk"}' | expect 'd.is_seller_admin === false'
curl -s $E/sellers/$SELLER1/users -H "authorization: Bearer $ACME" | expect 'd.total === 2'
# Products: create, edit, list (the public catalogue), delete.
HAMMER=$(curl -s -X POST $E/products -H "authorization: Bearer $ACME" -H "$JSON" \
  -d '{"sku":"HAMMER","name":"Claw hammer","description":"16 oz","quantity":10}' | json d.id)
SAW=$(curl -s -X POST $E/products -H "authorization: Bearer $ACME" -H "$JSON" \
  -d '{"sku":"SAW","name":"Panel saw","description":"22 in","quantity":5}' | json d.id)
PAINT=$(curl -s -X POST $E/products -H "authorization: Bearer $BLUE" -H "$JSON" \
  -d '{"sku":"BLUE-1L","name":"Blue paint 1 l","description":"Matt","quantity":20}' | json d.id)
curl -s -X PATCH $E/products/$SAW -H "authorization: Bearer $ACME" -H "$JSON" -d '{"quantity":7}' | expect 'd.quantity === 7'
curl -s "$E/products?seller_id=$SELLER1" | expect 'd.total === 2'
curl -s -X DELETE $E/products/$SAW -H "authorization: Bearer $ACME" -o /dev/null -w '%{http_code}' | expect 'd === 204'
# <<< readme

# >>> readme: customer
step 'Internet user: register, buy from both sellers in one purchase, cancel one order'
curl -s -X POST $E/users -H "$JSON" \
  -d '{"email":"ada'$S'@example.com","password":"ada-password-1","name":"Ada Lovelace","shipping_address":"12 St James Square, London"}' \
  | expect 'd.role === "customer"'
ADA=$(curl -s -X POST $E/auth/login -H "$JSON" -d '{"email":"ada'$S'@example.com","password":"ada-password-1"}' | json d.access_token)
curl -s $E/me -H "authorization: Bearer $ADA" | expect 'd.name === "Ada Lovelace"'
# One purchase, one order per seller, the stock taken in one transaction.
PURCHASE=$(curl -s -X POST $E/purchases -H "authorization: Bearer $ADA" -H "$JSON" -H "idempotency-key: walkthrough-$S" \
  -d '{"items":[{"product_id":"'$HAMMER'","quantity":2},{"product_id":"'$PAINT'","quantity":1}]}')
echo "$PURCHASE" | expect 'd.orders.length === 2'
ORDER1=$(echo "$PURCHASE" | json "d.orders.find(o => o.seller_id === '$SELLER1').id")
ORDER2=$(echo "$PURCHASE" | json "d.orders.find(o => o.seller_id === '$SELLER2').id")
curl -s $E/products/$HAMMER | expect 'd.quantity === 8'
# More than is in stock buys nothing: 409 insufficient-stock, naming the product.
curl -s -X POST $E/purchases -H "authorization: Bearer $ADA" -H "$JSON" \
  -d '{"items":[{"product_id":"'$HAMMER'","quantity":1000}]}' | expect 'd.code === "insufficient-stock"'
# The customer cancels the paint order while it is still created: its stock comes back.
curl -s -X POST $E/orders/$ORDER2/cancel -H "authorization: Bearer $ADA" | expect 'd.status === "cancelled"'
curl -s $E/products/$PAINT | expect 'd.quantity === 20'
# <<< readme

# >>> readme: parcel
step 'The seller confirms and dispatches: the delivery service creates the parcel'
curl -s "$E/orders?status=created" -H "authorization: Bearer $ACME" | expect "d.data.some(o => o.id === '$ORDER1')"
curl -s -X POST $E/orders/$ORDER1/confirm -H "authorization: Bearer $ACME" | expect 'd.status === "confirmed"'
curl -s -X POST $E/orders/$ORDER1/dispatch -H "authorization: Bearer $ACME" \
  | expect 'd.status === "dispatched" && d.delivery.status === "READY_FOR_PICK_UP"'
TRACKING=$(curl -s $E/orders/$ORDER1 -H "authorization: Bearer $ADA" | json d.delivery.tracking_number)
step 'Following the parcel: the next tick picks it up, and a webhook tells ecommerce'
TICK=$(curl -s $D/health | json d.tick_seconds)
for _ in $(seq $((2 * TICK + 10))); do   # at most two ticks
  STATUS=$(curl -s $E/orders/$ORDER1 -H "authorization: Bearer $ADA" | json d.delivery.status)
  [ "$STATUS" != READY_FOR_PICK_UP ] && break || sleep 1
done
curl -s $E/orders/$ORDER1 -H "authorization: Bearer $ADA" | expect 'd.delivery.status === "IN_ORIGIN"'
curl -s $E/orders/$ORDER1/tracking -H "authorization: Bearer $ADA" \
  | expect 'd.tracking.map(t => t.status).join() === "READY_FOR_PICK_UP,IN_ORIGIN"'
step 'The delivery service directly, with its API key'
K='authorization: Bearer dev-delivery-key-change-me'
curl -s "$D/deliveries?status=IN_ORIGIN" -H "$K" | expect "d.data.some(x => x.tracking_number === '$TRACKING')"
curl -s $D/deliveries/$TRACKING -H "$K" | expect "d.order.foreign_order_id === '$ORDER1'"
curl -s -X POST $D/tracking -H "$K" -H "$JSON" -d '{"foreign_order_id":"'$ORDER1'"}' | expect "d.tracking_number === '$TRACKING'"
WEBHOOK=$(curl -s $D/webhooks -H "$K" | json 'd.data[0].id')
curl -s "$D/webhooks/$WEBHOOK/attempts?limit=3" -H "$K" | expect 'd.data.length > 0'
# <<< readme

# >>> readme: end
step 'The administrator sees every order and deletes a seller (its orders stay)'
curl -s "$E/orders?limit=3" -H "authorization: Bearer $ADMIN" | expect 'd.total >= 2'
curl -s -X DELETE $E/sellers/$SELLER2 -H "authorization: Bearer $ADMIN" -o /dev/null -w '%{http_code}' | expect 'd === 204'
curl -s $E/orders/$ORDER2 -H "authorization: Bearer $ADMIN" | expect 'd.status === "cancelled"'
step 'The public tracking page: the link for the customer, no credentials needed'
TRACKING_URL=$(curl -s $E/orders/$ORDER1 -H "authorization: Bearer $ADA" | json d.delivery.tracking_url)
curl -s "$TRACKING_URL" | expect "d.includes('$TRACKING') && '$TRACKING_URL'.endsWith('/track/$TRACKING')"
echo "Open $TRACKING_URL in a browser: it follows the parcel live."
# <<< readme

step 'Done: every answer was what the walkthrough shows'
