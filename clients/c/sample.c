/*
 * A tour of the commerce service from C: create a user, charge their balance (idempotently),
 * list products, claim a coupon, place an order paid from the balance, look at the balance
 * history, and see how an error reads. Expects the demo data (`commerce-server serve --seed-demo`):
 * products 1..10 and coupon campaign 1.
 *
 *   make sample && ./build/sample 127.0.0.1 7070 "$(cat data/tokens/service)"
 *
 * The token (third argument, or COMMERCE_TOKEN) is a service's: it creates a user and acts for them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commerce_client.h"
#include "commerce/v1/balance.pb-c.h"
#include "commerce/v1/coupon.pb-c.h"
#include "commerce/v1/order.pb-c.h"
#include "commerce/v1/product.pb-c.h"
#include "commerce/v1/user.pb-c.h"
#include "commerce_methods.h"

/* Prints a failed call's status the way a program should read it: code, then reason. */
static void report(const char *what, const cc_status *status) {
    fprintf(stderr, "%s failed: %s [%s] %s\n", what, cc_code_name(status->code),
            status->reason ? status->reason : "", status->message ? status->message : "");
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : 7070;
    cc_status status = CC_STATUS_INIT;
    cc_client *client = NULL;
    int exit_code = 1;

    /* 1. Connect: the client exchanges the 8-byte preface with the server. */
    if (cc_connect(&client, host, port, &status) != 0) {
        report("connect", &status);
        cc_status_clear(&status);
        return 1;
    }
    /* Every call carries the token ("authorization: Bearer <token>"); browsing would need none. */
    const char *token = argc > 3 ? argv[3] : getenv("COMMERCE_TOKEN");
    if (cc_set_token(client, token) != 0) {
        fprintf(stderr, "out of memory\n");
        cc_close(client);
        return 1;
    }

    /* 2. Create a user. Every request is a generated protobuf-c struct, initialised with its INIT macro. */
    Commerce__V1__CreateUserRequest create = COMMERCE__V1__CREATE_USER_REQUEST__INIT;
    create.name = "C sample user";
    Commerce__V1__CreateUserResponse *created = NULL;
    if (cc_call(client, COMMERCE_V1_USER_SERVICE_CREATE_USER, &create.base, NULL, 0, 5000,
                &commerce__v1__create_user_response__descriptor, (ProtobufCMessage **)&created, &status) != 0) {
        report("CreateUser", &status);
        goto done;
    }
    int64_t user_id = created->user->id;
    printf("created user %lld (%s)\n", (long long)user_id, created->user->name);
    protobuf_c_message_free_unpacked(&created->base, NULL);

    /* 3. Charge 50,000 won. The idempotency key makes a retry after a network failure safe:
     *    sending the same key again returns the first result instead of charging twice. */
    Commerce__V1__ChargeBalanceRequest charge = COMMERCE__V1__CHARGE_BALANCE_REQUEST__INIT;
    charge.user_id = user_id;
    charge.amount = 50000;
    cc_metadata key = {"idempotency-key", "c-sample-charge-1"};
    for (int attempt = 1; attempt <= 2; attempt++) {
        Commerce__V1__ChargeBalanceResponse *charged = NULL;
        if (cc_call(client, COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &charge.base, &key, 1, 5000,
                    &commerce__v1__charge_balance_response__descriptor, (ProtobufCMessage **)&charged, &status) != 0) {
            report("ChargeBalance", &status);
            goto done;
        }
        printf("charge attempt %d: balance %lld%s\n", attempt, (long long)charged->balance,
               charged->replayed ? " (replayed: nothing charged twice)" : "");
        protobuf_c_message_free_unpacked(&charged->base, NULL);
    }

    /* 4. An error reply: a charge below the 1,000 won minimum. Programs switch on status.reason. */
    charge.amount = 10;
    Commerce__V1__ChargeBalanceResponse *refused = NULL;
    if (cc_call(client, COMMERCE_V1_BALANCE_SERVICE_CHARGE_BALANCE, &charge.base, NULL, 0, 5000,
                &commerce__v1__charge_balance_response__descriptor, (ProtobufCMessage **)&refused, &status) != 0) {
        printf("a 10 won charge is refused: %s / %s\n", cc_code_name(status.code), status.reason);
    }

    /* 5. List the first page of products. */
    Commerce__V1__PageRequest page = COMMERCE__V1__PAGE_REQUEST__INIT;
    page.page_size = 5;
    Commerce__V1__ListProductsRequest list = COMMERCE__V1__LIST_PRODUCTS_REQUEST__INIT;
    list.page = &page;
    Commerce__V1__ListProductsResponse *products = NULL;
    if (cc_call(client, COMMERCE_V1_PRODUCT_SERVICE_LIST_PRODUCTS, &list.base, NULL, 0, 5000,
                &commerce__v1__list_products_response__descriptor, (ProtobufCMessage **)&products, &status) != 0) {
        report("ListProducts", &status);
        goto done;
    }
    for (size_t i = 0; i < products->n_products; i++) {
        const Commerce__V1__Product *p = products->products[i];
        printf("product %lld: %-32s %9lld won, %lld in stock\n", (long long)p->id, p->name, (long long)p->price, (long long)p->stock);
    }
    protobuf_c_message_free_unpacked(&products->base, NULL);

    /* 6. Claim a coupon of campaign 1 (first come, first served; one per user). */
    Commerce__V1__IssueCouponRequest issue = COMMERCE__V1__ISSUE_COUPON_REQUEST__INIT;
    issue.user_id = user_id;
    issue.campaign_id = 1;
    Commerce__V1__IssueCouponResponse *issued = NULL;
    int64_t coupon_id = 0;
    if (cc_call(client, COMMERCE_V1_COUPON_SERVICE_ISSUE_COUPON, &issue.base, NULL, 0, 5000,
                &commerce__v1__issue_coupon_response__descriptor, (ProtobufCMessage **)&issued, &status) == 0) {
        coupon_id = issued->coupon->id;
        printf("coupon %lld: %s\n", (long long)coupon_id, issued->coupon->campaign->name);
        protobuf_c_message_free_unpacked(&issued->base, NULL);
    } else {
        report("IssueCoupon (continuing without a coupon)", &status);
    }

    /* 7. Order two units of product 2 with the coupon, paid from the balance, in one atomic step.
     *    repeated fields are a count plus an array of pointers in protobuf-c. */
    Commerce__V1__OrderItem item = COMMERCE__V1__ORDER_ITEM__INIT;
    item.product_id = 2;
    item.quantity = 2;
    Commerce__V1__OrderItem *items[] = {&item};
    Commerce__V1__PlaceOrderRequest place = COMMERCE__V1__PLACE_ORDER_REQUEST__INIT;
    place.user_id = user_id;
    place.n_items = 1;
    place.items = items;
    place.coupon_id = coupon_id;
    cc_metadata order_key = {"idempotency-key", "c-sample-order-1"};
    Commerce__V1__PlaceOrderResponse *placed = NULL;
    if (cc_call(client, COMMERCE_V1_ORDER_SERVICE_PLACE_ORDER, &place.base, &order_key, 1, 5000,
                &commerce__v1__place_order_response__descriptor, (ProtobufCMessage **)&placed, &status) != 0) {
        report("PlaceOrder", &status);
        goto done;
    }
    printf("order %lld: total %lld, discount %lld, paid %lld, balance now %lld\n", (long long)placed->order->id,
           (long long)placed->order->total, (long long)placed->order->discount, (long long)placed->order->amount_paid,
           (long long)placed->balance_after);
    protobuf_c_message_free_unpacked(&placed->base, NULL);

    /* 8. The balance history, newest first. */
    Commerce__V1__ListBalanceHistoryRequest history = COMMERCE__V1__LIST_BALANCE_HISTORY_REQUEST__INIT;
    history.user_id = user_id;
    Commerce__V1__ListBalanceHistoryResponse *entries = NULL;
    if (cc_call(client, COMMERCE_V1_BALANCE_SERVICE_LIST_BALANCE_HISTORY, &history.base, NULL, 0, 5000,
                &commerce__v1__list_balance_history_response__descriptor, (ProtobufCMessage **)&entries, &status) != 0) {
        report("ListBalanceHistory", &status);
        goto done;
    }
    for (size_t i = 0; i < entries->n_entries; i++) {
        printf("history: entry %lld amount %+lld balance after %lld\n", (long long)entries->entries[i]->id,
               (long long)entries->entries[i]->amount, (long long)entries->entries[i]->balance_after);
    }
    protobuf_c_message_free_unpacked(&entries->base, NULL);
    exit_code = 0;

done:
    cc_status_clear(&status);
    cc_close(client);
    return exit_code;
}
