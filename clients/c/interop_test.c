/*
 * Interop tests of the C client against the real Swift server: every RPC the client covers, the
 * error reasons, an oversize frame, invalid UTF-8 (which protobuf-c does not check), several calls
 * in flight answered out of order. Servers that misbehave are hostile_test.c's.
 * Run by run-tests.sh under AddressSanitizer and under Valgrind.
 *
 *   ./build/interop_test <port> <admin token> <service token> <token of user 1>
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commerce_client.h"
#include "commerce/v1/admin.pb-c.h"
#include "commerce/v1/balance.pb-c.h"
#include "commerce/v1/cart.pb-c.h"
#include "commerce/v1/coupon.pb-c.h"
#include "commerce/v1/order.pb-c.h"
#include "commerce/v1/product.pb-c.h"
#include "commerce/v1/user.pb-c.h"
#include "framerpc/v1/builtin.pb-c.h"
#include "commerce_methods.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

static cc_client *client;
static const char *admin_token;

/* Calls and expects an error with this code and reason; frees whatever came back. */
static void expect_error(const char *method, const ProtobufCMessage *request, const cc_metadata *md, size_t n,
                         const ProtobufCMessageDescriptor *reply_type, uint32_t code, const char *reason) {
    cc_status status = CC_STATUS_INIT;
    ProtobufCMessage *reply = NULL;
    int rc = cc_call(client, method, request, md, n, 5000, reply_type, &reply, &status);
    CHECK(rc != 0 && status.code == code && status.reason && strcmp(status.reason, reason) == 0,
          "%s: wanted %s/%s, got rc=%d %s/%s (%s)", method, cc_code_name(code), reason, rc, cc_code_name(status.code),
          status.reason ? status.reason : "-", status.message ? status.message : "-");
    if (reply) protobuf_c_message_free_unpacked(reply, NULL);
    cc_status_clear(&status);
}

static void *call_ok(const char *method, const ProtobufCMessage *request, const cc_metadata *md, size_t n,
                     const ProtobufCMessageDescriptor *reply_type) {
    cc_status status = CC_STATUS_INIT;
    ProtobufCMessage *reply = NULL;
    int rc = cc_call(client, method, request, md, n, 5000, reply_type, &reply, &status);
    CHECK(rc == 0 && reply != NULL, "%s: %s/%s %s", method, cc_code_name(status.code), status.reason ? status.reason : "-",
          status.message ? status.message : "-");
    cc_status_clear(&status);
    return reply;
}

static void test_users_and_balance(void) {
    Commerce__V1__CreateUserRequest create = COMMERCE__V1__CREATE_USER_REQUEST__INIT;
    create.name = "interop";
    Commerce__V1__CreateUserResponse *created =
        call_ok(COMMERCE_V1_USER_SERVICE_CREATE_USER, &create.base, NULL, 0, &commerce__v1__create_user_response__descriptor);
    if (created == NULL) return;
    int64_t user = created->user->id;
    CHECK(user > 0 && strcmp(created->user->name, "interop") == 0, "created user");
    protobuf_c_message_free_unpacked(&created->base, NULL);

    Commerce__V1__GetUserRequest get = COMMERCE__V1__GET_USER_REQUEST__INIT;
    get.user_id = user;
    Commerce__V1__GetUserResponse *got = call_ok(COMMERCE_V1_USER_SERVICE_GET_USER, &get.base, NULL, 0, &commerce__v1__get_user_response__descriptor);
    if (got) { CHECK(got->user->id == user, "GetUser id"); protobuf_c_message_free_unpacked(&got->base, NULL); }

    Commerce__V1__ChargeBalanceRequest charge = COMMERCE__V1__CHARGE_BALANCE_REQUEST__INIT;
    charge.user_id = user;
    charge.amount = 7000;
    cc_metadata key = {"idempotency-key", "interop-1"};
    for (int i = 0; i < 2; i++) {
        Commerce__V1__ChargeBalanceResponse *r = call_ok(COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &charge.base, &key, 1,
                                                         &commerce__v1__charge_balance_response__descriptor);
        if (r) { CHECK(r->balance == 7000 && r->replayed == (i == 1), "charge %d: balance %lld replayed %d", i, (long long)r->balance, r->replayed); protobuf_c_message_free_unpacked(&r->base, NULL); }
    }
    charge.amount = 999;
    expect_error(COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &charge.base, NULL, 0, &commerce__v1__charge_balance_response__descriptor,
                 CC_INVALID_ARGUMENT, "CHARGE_BELOW_MINIMUM");
    charge.amount = -5;
    expect_error(COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &charge.base, NULL, 0, &commerce__v1__charge_balance_response__descriptor,
                 CC_INVALID_ARGUMENT, "INVALID_AMOUNT");
    charge.amount = 999000;
    expect_error(COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &charge.base, NULL, 0, &commerce__v1__charge_balance_response__descriptor,
                 CC_FAILED_PRECONDITION, "BALANCE_LIMIT_EXCEEDED");
    charge.amount = 3000;
    expect_error(COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &charge.base, &key, 1, &commerce__v1__charge_balance_response__descriptor,
                 CC_ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED");
    charge.user_id = 987654321;
    expect_error(COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &charge.base, NULL, 0, &commerce__v1__charge_balance_response__descriptor,
                 CC_NOT_FOUND, "USER_NOT_FOUND");

    Commerce__V1__GetBalanceRequest balance = COMMERCE__V1__GET_BALANCE_REQUEST__INIT;
    balance.user_id = user;
    Commerce__V1__GetBalanceResponse *b = call_ok(COMMERCE_V1_BALANCE_SERVICE_GET_BALANCE, &balance.base, NULL, 0, &commerce__v1__get_balance_response__descriptor);
    if (b) { CHECK(b->balance == 7000, "balance %lld", (long long)b->balance); protobuf_c_message_free_unpacked(&b->base, NULL); }

    Commerce__V1__ListBalanceHistoryRequest history = COMMERCE__V1__LIST_BALANCE_HISTORY_REQUEST__INIT;
    history.user_id = user;
    Commerce__V1__ListBalanceHistoryResponse *h = call_ok(COMMERCE_V1_BALANCE_SERVICE_LIST_BALANCE_HISTORY, &history.base, NULL, 0,
                                                          &commerce__v1__list_balance_history_response__descriptor);
    if (h) {
        CHECK(h->n_entries == 1 && h->entries[0]->type == COMMERCE__V1__BALANCE_ENTRY_TYPE__BALANCE_ENTRY_TYPE_CHARGE, "history");
        protobuf_c_message_free_unpacked(&h->base, NULL);
    }

    /* protobuf-c sends strings unchecked: the server must refuse invalid UTF-8 and keep the connection. */
    create.name = "\xff\xfe";
    expect_error(COMMERCE_V1_USER_SERVICE_CREATE_USER, &create.base, NULL, 0, &commerce__v1__create_user_response__descriptor,
                 CC_INVALID_ARGUMENT, "INVALID_UTF8");
}

static void test_products_and_admin(void) {
    char bearer[256];
    snprintf(bearer, sizeof bearer, "Bearer %s", admin_token);
    cc_metadata auth = {"authorization", bearer};
    Commerce__V1__CreateProductRequest create = COMMERCE__V1__CREATE_PRODUCT_REQUEST__INIT;
    create.name = "C product";
    create.price = 1200;
    create.initial_stock = 3;
    /* The client's service token is not an admin credential. */
    expect_error(COMMERCE_V1_ADMIN_SERVICE_CREATE_PRODUCT, &create.base, NULL, 0, &commerce__v1__create_product_response__descriptor,
                 CC_PERMISSION_DENIED, "SCOPE_MISSING");
    Commerce__V1__CreateProductResponse *created = call_ok(COMMERCE_V1_ADMIN_SERVICE_CREATE_PRODUCT, &create.base, &auth, 1,
                                                           &commerce__v1__create_product_response__descriptor);
    if (created == NULL) return;
    int64_t product = created->product->id;
    protobuf_c_message_free_unpacked(&created->base, NULL);

    Commerce__V1__RestockRequest restock = COMMERCE__V1__RESTOCK_REQUEST__INIT;
    restock.product_id = product;
    restock.quantity = 4;
    Commerce__V1__RestockResponse *r = call_ok(COMMERCE_V1_ADMIN_SERVICE_RESTOCK, &restock.base, &auth, 1, &commerce__v1__restock_response__descriptor);
    if (r) { CHECK(r->product->stock == 7, "restocked to %lld", (long long)r->product->stock); protobuf_c_message_free_unpacked(&r->base, NULL); }

    Commerce__V1__GetProductRequest get = COMMERCE__V1__GET_PRODUCT_REQUEST__INIT;
    get.product_id = product;
    Commerce__V1__GetProductResponse *p = call_ok(COMMERCE_V1_PRODUCT_SERVICE_GET_PRODUCT, &get.base, NULL, 0, &commerce__v1__get_product_response__descriptor);
    if (p) { CHECK(p->product->stock == 7 && p->product->price == 1200, "GetProduct"); protobuf_c_message_free_unpacked(&p->base, NULL); }
    get.product_id = 987654321;
    expect_error(COMMERCE_V1_PRODUCT_SERVICE_GET_PRODUCT, &get.base, NULL, 0, &commerce__v1__get_product_response__descriptor,
                 CC_NOT_FOUND, "PRODUCT_NOT_FOUND");

    Commerce__V1__ListProductsRequest list = COMMERCE__V1__LIST_PRODUCTS_REQUEST__INIT;
    Commerce__V1__ListProductsResponse *l = call_ok(COMMERCE_V1_PRODUCT_SERVICE_LIST_PRODUCTS, &list.base, NULL, 0, &commerce__v1__list_products_response__descriptor);
    if (l) { CHECK(l->n_products >= 1, "ListProducts"); protobuf_c_message_free_unpacked(&l->base, NULL); }
}

static int64_t new_user(const char *name, int64_t charge) {
    Commerce__V1__CreateUserRequest create = COMMERCE__V1__CREATE_USER_REQUEST__INIT;
    create.name = (char *)name;
    Commerce__V1__CreateUserResponse *created = call_ok(COMMERCE_V1_USER_SERVICE_CREATE_USER, &create.base, NULL, 0,
                                                        &commerce__v1__create_user_response__descriptor);
    if (created == NULL) return 0;
    int64_t id = created->user->id;
    protobuf_c_message_free_unpacked(&created->base, NULL);
    if (charge > 0) {
        Commerce__V1__ChargeBalanceRequest request = COMMERCE__V1__CHARGE_BALANCE_REQUEST__INIT;
        request.user_id = id;
        request.amount = charge;
        Commerce__V1__ChargeBalanceResponse *r = call_ok(COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &request.base, NULL, 0,
                                                         &commerce__v1__charge_balance_response__descriptor);
        if (r) protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return id;
}

static void test_orders_and_coupons(void) {
    int64_t buyer = new_user("c buyer", 100000), stranger = new_user("c stranger", 0);
    Commerce__V1__IssueCouponRequest issue = COMMERCE__V1__ISSUE_COUPON_REQUEST__INIT;
    issue.user_id = buyer;
    issue.campaign_id = 1; /* the demo's welcome campaign: 5,000 off */
    Commerce__V1__IssueCouponResponse *issued = call_ok(COMMERCE_V1_COUPON_SERVICE_ISSUE_COUPON, &issue.base, NULL, 0,
                                                        &commerce__v1__issue_coupon_response__descriptor);
    if (issued == NULL) return;
    int64_t coupon = issued->coupon->id;
    CHECK(issued->coupon->state == COMMERCE__V1__COUPON_STATE__COUPON_STATE_AVAILABLE, "coupon available");
    protobuf_c_message_free_unpacked(&issued->base, NULL);
    expect_error(COMMERCE_V1_COUPON_SERVICE_ISSUE_COUPON, &issue.base, NULL, 0, &commerce__v1__issue_coupon_response__descriptor,
                 CC_ALREADY_EXISTS, "COUPON_ALREADY_ISSUED");

    Commerce__V1__OrderItem item = COMMERCE__V1__ORDER_ITEM__INIT;
    item.product_id = 2; /* Wireless mouse, 25,000 */
    item.quantity = 2;
    Commerce__V1__OrderItem *items[] = {&item};
    Commerce__V1__PlaceOrderRequest place = COMMERCE__V1__PLACE_ORDER_REQUEST__INIT;
    place.user_id = stranger;
    place.n_items = 1;
    place.items = items;
    place.coupon_id = coupon;
    expect_error(COMMERCE_V1_ORDER_SERVICE_PLACE_ORDER, &place.base, NULL, 0, &commerce__v1__place_order_response__descriptor,
                 CC_PERMISSION_DENIED, "COUPON_NOT_OWNED");
    place.coupon_id = 0;
    expect_error(COMMERCE_V1_ORDER_SERVICE_PLACE_ORDER, &place.base, NULL, 0, &commerce__v1__place_order_response__descriptor,
                 CC_FAILED_PRECONDITION, "INSUFFICIENT_BALANCE");
    place.user_id = buyer;
    place.coupon_id = coupon;
    Commerce__V1__PlaceOrderResponse *placed = call_ok(COMMERCE_V1_ORDER_SERVICE_PLACE_ORDER, &place.base, NULL, 0,
                                                       &commerce__v1__place_order_response__descriptor);
    if (placed == NULL) return;
    CHECK(placed->order->total == 50000 && placed->order->discount == 5000 && placed->order->amount_paid == 45000 &&
              placed->balance_after == 55000 && placed->order->n_lines == 1,
          "order: total %lld discount %lld paid %lld balance %lld", (long long)placed->order->total,
          (long long)placed->order->discount, (long long)placed->order->amount_paid, (long long)placed->balance_after);
    int64_t order = placed->order->id;
    protobuf_c_message_free_unpacked(&placed->base, NULL);
    expect_error(COMMERCE_V1_ORDER_SERVICE_PLACE_ORDER, &place.base, NULL, 0, &commerce__v1__place_order_response__descriptor,
                 CC_FAILED_PRECONDITION, "COUPON_ALREADY_USED");
    item.quantity = 100000;
    place.coupon_id = 0;
    expect_error(COMMERCE_V1_ORDER_SERVICE_PLACE_ORDER, &place.base, NULL, 0, &commerce__v1__place_order_response__descriptor,
                 CC_INVALID_ARGUMENT, "INVALID_QUANTITY");
    item.quantity = 1000;
    expect_error(COMMERCE_V1_ORDER_SERVICE_PLACE_ORDER, &place.base, NULL, 0, &commerce__v1__place_order_response__descriptor,
                 CC_FAILED_PRECONDITION, "OUT_OF_STOCK");
    place.n_items = 0;
    expect_error(COMMERCE_V1_ORDER_SERVICE_PLACE_ORDER, &place.base, NULL, 0, &commerce__v1__place_order_response__descriptor,
                 CC_INVALID_ARGUMENT, "EMPTY_ORDER");

    Commerce__V1__GetOrderRequest get = COMMERCE__V1__GET_ORDER_REQUEST__INIT;
    get.order_id = order;
    Commerce__V1__GetOrderResponse *got = call_ok(COMMERCE_V1_ORDER_SERVICE_GET_ORDER, &get.base, NULL, 0, &commerce__v1__get_order_response__descriptor);
    if (got) {
        CHECK(got->order->status == COMMERCE__V1__ORDER_STATUS__ORDER_STATUS_PAID && strcmp(got->order->lines[0]->product_name, "Wireless mouse") == 0, "GetOrder");
        protobuf_c_message_free_unpacked(&got->base, NULL);
    }
    Commerce__V1__ListUserCouponsRequest list = COMMERCE__V1__LIST_USER_COUPONS_REQUEST__INIT;
    list.user_id = buyer;
    Commerce__V1__ListUserCouponsResponse *coupons = call_ok(COMMERCE_V1_COUPON_SERVICE_LIST_USER_COUPONS, &list.base, NULL, 0,
                                                             &commerce__v1__list_user_coupons_response__descriptor);
    if (coupons) {
        CHECK(coupons->n_coupons == 1 && coupons->coupons[0]->state == COMMERCE__V1__COUPON_STATE__COUPON_STATE_USED &&
                  coupons->coupons[0]->order_id == order, "coupon used by the order");
        protobuf_c_message_free_unpacked(&coupons->base, NULL);
    }
}

static void test_protocol(void) {
    Framerpc__V1__HealthCheckRequest health = FRAMERPC__V1__HEALTH_CHECK_REQUEST__INIT;
    Framerpc__V1__HealthCheckResponse *hr = call_ok(FRAMERPC_V1_HEALTH_CHECK, &health.base, NULL, 0, &framerpc__v1__health_check_response__descriptor);
    if (hr) { CHECK(hr->status == FRAMERPC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING, "health"); protobuf_c_message_free_unpacked(&hr->base, NULL); }

    Framerpc__V1__ListMethodsRequest methods = FRAMERPC__V1__LIST_METHODS_REQUEST__INIT;
    Framerpc__V1__ListMethodsResponse *mr = call_ok(FRAMERPC_V1_REFLECTION_LIST_METHODS, &methods.base, NULL, 0, &framerpc__v1__list_methods_response__descriptor);
    if (mr) {
        /* Exactly the methods proto/ declares (from protobuf-c's service descriptors) and the two built-ins. */
        const ProtobufCServiceDescriptor *services[] = {
            &commerce__v1__user_service__descriptor, &commerce__v1__balance_service__descriptor,
            &commerce__v1__product_service__descriptor, &commerce__v1__coupon_service__descriptor,
            &commerce__v1__cart_service__descriptor, &commerce__v1__order_service__descriptor,
            &commerce__v1__admin_service__descriptor,
        };
        size_t declared = 2;
        for (size_t s = 0; s < sizeof services / sizeof services[0]; s++) {
            for (unsigned m = 0; m < services[s]->n_methods; m++) {
                char name[256];
                snprintf(name, sizeof name, "/%s/%s", services[s]->name, services[s]->methods[m].name);
                int found = 0;
                for (size_t k = 0; k < mr->n_methods; k++) found |= strcmp(mr->methods[k]->name, name) == 0;
                CHECK(found, "the server lists %s", name);
                declared++;
            }
        }
        CHECK(mr->n_methods == declared, "%zu methods listed, %zu declared in proto/ (with Health/Check and Reflection/ListMethods)", mr->n_methods, declared);
        protobuf_c_message_free_unpacked(&mr->base, NULL);
    }

    expect_error("/commerce.v1.Nope/Nothing", &health.base, NULL, 0, &framerpc__v1__health_check_response__descriptor,
                 CC_UNIMPLEMENTED, "METHOD_NOT_FOUND");

    /* Three calls in flight, collected in reverse order. */
    uint32_t ids[3];
    cc_status status = CC_STATUS_INIT;
    Commerce__V1__GetUserRequest get = COMMERCE__V1__GET_USER_REQUEST__INIT;
    for (int i = 0; i < 3; i++) {
        get.user_id = 987654320 + i;
        CHECK(cc_send(client, COMMERCE_V1_USER_SERVICE_GET_USER, &get.base, NULL, 0, 5000, &ids[i], &status) == 0, "send %d", i);
    }
    for (int i = 2; i >= 0; i--) {
        ProtobufCMessage *reply = NULL;
        int rc = cc_wait(client, ids[i], 5000, &commerce__v1__get_user_response__descriptor, &reply, &status);
        CHECK(rc != 0 && status.reason && strcmp(status.reason, "USER_NOT_FOUND") == 0 && status.message && strstr(status.message, "98765432") != NULL,
              "in-flight call %d: %s", i, status.message ? status.message : "-");
        if (reply) protobuf_c_message_free_unpacked(reply, NULL);
    }
    cc_status_clear(&status);

    /* An oversize frame (5 MiB name against the server's 4 MiB limit) is refused; the connection survives. */
    size_t big_size = 5u * 1024u * 1024u;
    char *big = malloc(big_size + 1);
    memset(big, 'x', big_size);
    big[big_size] = '\0';
    Commerce__V1__CreateUserRequest create = COMMERCE__V1__CREATE_USER_REQUEST__INIT;
    create.name = big;
    cc_set_max_frame_size(client, 8u * 1024u * 1024u);
    expect_error(COMMERCE_V1_USER_SERVICE_CREATE_USER, &create.base, NULL, 0, &commerce__v1__create_user_response__descriptor,
                 CC_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE");
    cc_set_max_frame_size(client, CC_DEFAULT_MAX_FRAME);
    free(big);
    Framerpc__V1__HealthCheckResponse *again = call_ok(FRAMERPC_V1_HEALTH_CHECK, &health.base, NULL, 0, &framerpc__v1__health_check_response__descriptor);
    if (again) protobuf_c_message_free_unpacked(&again->base, NULL);
}

/* Browsing needs no token; a user's data needs theirs (or a service's); a user token reaches its
 * own user only. Leaves the service token set for the other tests. */
static void test_access(const char *service_token, const char *user_token) {
    Commerce__V1__ListProductsRequest list = COMMERCE__V1__LIST_PRODUCTS_REQUEST__INIT;
    Commerce__V1__ListProductsResponse *products =
        call_ok(COMMERCE_V1_PRODUCT_SERVICE_LIST_PRODUCTS, &list.base, NULL, 0, &commerce__v1__list_products_response__descriptor);
    if (products) protobuf_c_message_free_unpacked(&products->base, NULL);
    Commerce__V1__GetBalanceRequest mine = COMMERCE__V1__GET_BALANCE_REQUEST__INIT;
    mine.user_id = 1;
    expect_error(COMMERCE_V1_BALANCE_SERVICE_GET_BALANCE, &mine.base, NULL, 0, &commerce__v1__get_balance_response__descriptor,
                 CC_UNAUTHENTICATED, "MISSING_CREDENTIALS");
    CHECK(cc_set_token(client, user_token) == 0, "cc_set_token");
    Commerce__V1__GetBalanceResponse *balance =
        call_ok(COMMERCE_V1_BALANCE_SERVICE_GET_BALANCE, &mine.base, NULL, 0, &commerce__v1__get_balance_response__descriptor);
    if (balance) protobuf_c_message_free_unpacked(&balance->base, NULL);
    Commerce__V1__GetBalanceRequest theirs = COMMERCE__V1__GET_BALANCE_REQUEST__INIT;
    theirs.user_id = 2;
    expect_error(COMMERCE_V1_BALANCE_SERVICE_GET_BALANCE, &theirs.base, NULL, 0, &commerce__v1__get_balance_response__descriptor,
                 CC_PERMISSION_DENIED, "SUBJECT_MISMATCH");
    cc_metadata forged = {"authorization", "Bearer not.a.token"};
    expect_error(COMMERCE_V1_BALANCE_SERVICE_GET_BALANCE, &mine.base, &forged, 1, &commerce__v1__get_balance_response__descriptor,
                 CC_UNAUTHENTICATED, "TOKEN_MALFORMED");
    /* This server takes METADATA frames: the token went once for the connection (hostile_test.c
     * checks the bytes), and clearing it clears it there too (an empty METADATA frame), or the
     * next call would still act for the user. */
    CHECK(cc_set_token(client, NULL) == 0, "cc_set_token(NULL)");
    expect_error(COMMERCE_V1_BALANCE_SERVICE_GET_BALANCE, &mine.base, NULL, 0, &commerce__v1__get_balance_response__descriptor,
                 CC_UNAUTHENTICATED, "MISSING_CREDENTIALS");
    CHECK(cc_set_token(client, service_token) == 0, "cc_set_token");
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s <port> <admin token> <service token> <token of user 1>\n", argv[0]);
        return 2;
    }
    admin_token = argv[2];
    cc_status status = CC_STATUS_INIT;
    if (cc_connect(&client, "127.0.0.1", atoi(argv[1]), &status) != 0) {
        fprintf(stderr, "cannot connect: %s\n", status.message);
        cc_status_clear(&status);
        return 1;
    }
    test_access(argv[3], argv[4]);
    test_users_and_balance();
    test_products_and_admin();
    test_orders_and_coupons();
    test_protocol();
    cc_close(client);
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
