#!/usr/bin/env bash
# Writes the fuzz targets' seed corpus (Tests/Fuzz/Corpus/<Target>/): one well-formed input per
# method, envelope and frame kind, encoded from the text protos below with Debian's protoc. The
# seeds are committed; run this again after changing proto/ (scripts/fuzz.sh does not need it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler" >&2; exit 1; }
corpus=Tests/Fuzz/Corpus
rm -rf "$corpus"
mkdir -p "$corpus"/{FuzzRequests,FuzzEnvelope,FuzzFrames,FuzzPageToken,FuzzEventJSON}

encode() { protoc -Iproto --encode="$1" proto/commerce/v1/*.proto proto/framerpc/v1/*.proto; }

# FuzzRequests: `<method> NUL <request message>`.
while IFS='|' read -r method type text; do
  [[ -z "$method" ]] && continue
  { printf '/commerce.v1.%s\0' "$method"; printf '%s' "$text" | encode "commerce.v1.$type"; } \
    >"$corpus/FuzzRequests/${method//\//-}"
done <<'TABLE'
AdminService/CreateProduct|CreateProductRequest|name: "Fuzz lamp" price: 12000 initial_stock: 5
AdminService/Restock|RestockRequest|product_id: 1 quantity: 3
AdminService/CreateCouponCampaign|CreateCouponCampaignRequest|name: "Fuzz 10%" kind: DISCOUNT_KIND_PERCENT amount: 10 max_discount: 3000 total_quantity: 2
AdminService/Audit|AuditRequest|
BalanceService/ChargeBalance|ChargeBalanceRequest|user_id: 1 amount: 5000 idempotency_key: "fuzz-charge"
BalanceService/GetBalance|GetBalanceRequest|user_id: 1
BalanceService/ListBalanceHistory|ListBalanceHistoryRequest|user_id: 1 page { page_size: 2 page_token: "c5" }
CartService/AddItem|AddCartItemRequest|user_id: 2 product_id: 3 quantity: 2
CartService/RemoveItem|RemoveCartItemRequest|user_id: 2 product_id: 3
CartService/UpdateQuantity|UpdateCartItemRequest|user_id: 2 product_id: 3 quantity: 1
CartService/GetCart|GetCartRequest|user_id: 2
CartService/CheckoutCart|CheckoutCartRequest|user_id: 2 coupon_id: 0 idempotency_key: "fuzz-checkout"
CouponService/IssueCoupon|IssueCouponRequest|user_id: 1 campaign_id: 1
CouponService/ListUserCoupons|ListUserCouponsRequest|user_id: 1
OrderService/PlaceOrder|PlaceOrderRequest|user_id: 1 items { product_id: 1 quantity: 1 } items { product_id: 2 quantity: 2 } coupon_id: 1 idempotency_key: "fuzz-order"
OrderService/CreateOrder|PlaceOrderRequest|user_id: 3 items { product_id: 4 quantity: 1 }
OrderService/PayOrder|PayOrderRequest|user_id: 3 order_id: 1
OrderService/GetOrder|GetOrderRequest|order_id: 1
OrderService/ListOrders|ListOrdersRequest|user_id: 1 page { page_size: 10 }
OrderService/CancelOrder|CancelOrderRequest|user_id: 1 order_id: 1
ProductService/GetProduct|GetProductRequest|product_id: 2
ProductService/ListProducts|ListProductsRequest|page { page_size: 3 page_token: "c1" }
ProductService/TopProducts|TopProductsRequest|days: 3 limit: 5 rank_by: RANK_BY_UNITS window: RANKING_WINDOW_ROLLING
UserService/CreateUser|CreateUserRequest|name: "Fuzz Kim"
UserService/GetUser|GetUserRequest|user_id: 2
TABLE

# FuzzEnvelope: REQUEST payloads.
printf '%s' 'method: "/commerce.v1.BalanceService/GetBalance" payload: "\b\001" timeout_micros: 2000000 metadata { key: "authorization" value: "Bearer x" } metadata { key: "Request-ID" value: "r-1" }' \
  | encode framerpc.v1.Request >"$corpus/FuzzEnvelope/get-balance"
printf '%s' 'method: "/commerce.v1.OrderService/PlaceOrder" payload: "\b\001\022\004\b\001\020\001" metadata { key: "idempotency-key" value: "k" }' \
  | encode framerpc.v1.Request >"$corpus/FuzzEnvelope/place-order"
printf '%s' 'method: "/framerpc.v1.Health/Check" timeout_micros: 18446744073709551615' \
  | encode framerpc.v1.Request >"$corpus/FuzzEnvelope/health-no-limit"
# … and METADATA payloads, read by the same target as a connection's entries.
printf '%s' 'metadata { key: "Authorization" value: "Bearer c" } metadata { key: "trace-tag" value: "t" }' \
  | encode framerpc.v1.ConnectionMetadata >"$corpus/FuzzEnvelope/connection-metadata"

# FuzzFrames: a control byte (even: a preface is expected), then the stream.
preface='FRPC\x00\x01\x00\x00'
envelope=$(od -An -v -tx1 "$corpus/FuzzEnvelope/get-balance" | tr -d ' \n' | sed 's/../\\x&/g')
length=$(printf '%08x' "$(stat -c %s "$corpus/FuzzEnvelope/get-balance")" | sed 's/../\\x&/g')
printf "\x40${preface}${length}\x00\x00\x00\x01\x01\x00${envelope}" >"$corpus/FuzzFrames/preface-request"
printf "\x41\x00\x00\x00\x04\x00\x00\x00\x00\x04\x00ping\x00\x00\x00\x00\x00\x00\x00\x03\x03\x00" >"$corpus/FuzzFrames/ping-cancel"
printf "\x02${preface}\x00\x00\x01\x00\x00\x00\x00\x05\x01\x00partial" >"$corpus/FuzzFrames/oversize-partial"

# FuzzPageToken: tokens as the server issues them, and near misses.
printf 'c0' >"$corpus/FuzzPageToken/zero"
printf 'c9223372036854775807' >"$corpus/FuzzPageToken/largest"
printf 'c-1' >"$corpus/FuzzPageToken/negative"

# FuzzEventJSON: events as the outbox stores them.
printf '%s' '{"amount":17000,"coupon_id":1,"discount":3000,"event_id":"0000000000000001-ab","lines":[{"product_id":1,"product_name":"Keyboard \"K1\"\n","quantity":2,"unit_price":10000}],"occurred_at_unix_ms":1764400000000,"order_id":1,"total":20000,"type":"ORDER_PAID","user_id":6}' \
  >"$corpus/FuzzEventJSON/paid"
printf '%s' '{"amount":5000,"discount":0,"event_id":"e\u0001\u00e9","lines":[],"occurred_at_unix_ms":0,"order_id":2,"total":5000,"type":"ORDER_REFUNDED","user_id":1}' \
  >"$corpus/FuzzEventJSON/refund"
echo "seeds written to $corpus: $(find "$corpus" -type f | wc -l) files"
