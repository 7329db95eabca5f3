"""The commerce API through the Connect protocol from Python: connectrpc's generated clients
(not ours) against a real commerce-server, in both of its codecs, with errors and deadlines.

Run by run-tests.sh, which generates the clients and starts the server."""

import os
import subprocess
import time
import unittest
import uuid

from connectrpc.code import Code
from connectrpc.compat import google_protobuf_json_codec
from connectrpc.errors import ConnectError

from commerce.v1 import admin_pb2, balance_pb2, cart_pb2, common_pb2, coupon_pb2, order_pb2, product_pb2, user_pb2
from commerce.v1.admin_connect import AdminServiceClientSync
from commerce.v1.balance_connect import BalanceServiceClientSync
from commerce.v1.cart_connect import CartServiceClientSync
from commerce.v1.coupon_connect import CouponServiceClientSync
from commerce.v1.order_connect import OrderServiceClientSync
from commerce.v1.product_connect import ProductServiceClientSync
from commerce.v1.user_connect import UserServiceClientSync
from framerpc.v1 import builtin_pb2
from framerpc.v1.builtin_connect import HealthClientSync
from google.rpc import error_details_pb2

URL = os.environ["COMMERCE_URL"]
ADMIN = {"authorization": f"Bearer {os.environ['COMMERCE_ADMIN_TOKEN']}"}


def mint(*args: str) -> str:
    """A token from the server's own minting command, signed with the server's keys."""
    return subprocess.run(
        [os.environ["COMMERCE_SERVER_BIN"], "token", "--keys", os.environ["COMMERCE_KEYS"], "--ttl", "1h", *args],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


SERVICE = {"authorization": f"Bearer {mint('--service', 'python-shop')}"}


def reason(error: ConnectError) -> str:
    """Our machine-readable reason, from the google.rpc.ErrorInfo detail."""
    for detail in error.details:
        if detail.type_name == "google.rpc.ErrorInfo":
            return error_details_pb2.ErrorInfo.FromString(detail.message_bytes).reason
    return ""


class ConnectTests(unittest.TestCase):
    def setUp(self) -> None:
        self.users = UserServiceClientSync(URL)
        self.balance = BalanceServiceClientSync(URL)
        self.products = ProductServiceClientSync(URL)
        self.admin = AdminServiceClientSync(URL)
        self.coupons = CouponServiceClientSync(URL)
        self.cart = CartServiceClientSync(URL)
        self.orders = OrderServiceClientSync(URL)

    def new_user(self, balance: int = 0) -> int:
        user = self.users.create_user(user_pb2.CreateUserRequest(name=f"py-{uuid.uuid4().hex[:8]}"), headers=SERVICE).user
        if balance:
            self.balance.charge_balance(balance_pb2.ChargeBalanceRequest(user_id=user.id, amount=balance), headers=SERVICE)
        return user.id

    def expect_error(self, code: Code, expected_reason: str, call) -> ConnectError:
        with self.assertRaises(ConnectError) as caught:
            call()
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        self.assertEqual(reason(caught.exception), expected_reason)
        return caught.exception

    def test_balance_with_idempotency_key_and_history(self) -> None:
        user = self.new_user()
        key = {**SERVICE, "idempotency-key": f"py-{uuid.uuid4()}"}
        first = self.balance.charge_balance(balance_pb2.ChargeBalanceRequest(user_id=user, amount=30_000), headers=key)
        again = self.balance.charge_balance(balance_pb2.ChargeBalanceRequest(user_id=user, amount=30_000), headers=key)
        self.assertFalse(first.replayed)
        self.assertTrue(again.replayed)
        self.assertEqual(again.entry_id, first.entry_id)
        self.assertEqual(self.balance.get_balance(balance_pb2.GetBalanceRequest(user_id=user), headers=SERVICE).balance, 30_000)
        history = self.balance.list_balance_history(balance_pb2.ListBalanceHistoryRequest(user_id=user), headers=SERVICE)
        self.assertEqual([entry.amount for entry in history.entries], [30_000])
        # The user's own token works for their own data, and not for another user's.
        own = {"authorization": f"Bearer {mint('--user', str(user))}"}
        self.assertEqual(self.balance.get_balance(balance_pb2.GetBalanceRequest(user_id=user), headers=own).balance, 30_000)
        other = self.new_user()
        self.expect_error(
            Code.PERMISSION_DENIED, "SUBJECT_MISMATCH",
            lambda: self.balance.get_balance(balance_pb2.GetBalanceRequest(user_id=other), headers=own),
        )

    def test_products_in_json_and_by_get(self) -> None:
        created = self.admin.create_product(
            admin_pb2.CreateProductRequest(name="python lamp", price=12_000, initial_stock=7), headers=ADMIN
        ).product
        json_client = ProductServiceClientSync(URL, codec=google_protobuf_json_codec())
        got = json_client.get_product(product_pb2.GetProductRequest(product_id=created.id))
        self.assertEqual((got.product.name, got.product.stock), ("python lamp", 7))
        by_get = self.products.get_product(product_pb2.GetProductRequest(product_id=created.id), use_get=True)
        self.assertEqual(by_get.product.price, 12_000)
        page = self.products.list_products(product_pb2.ListProductsRequest(page=common_pb2.PageRequest(page_size=1)))
        self.assertEqual(len(page.products), 1)
        self.assertTrue(page.next_page_token)

    def test_coupon_cart_and_order(self) -> None:
        buyer = self.new_user(balance=100_000)
        product = self.admin.create_product(
            admin_pb2.CreateProductRequest(name="python kettle", price=30_000, initial_stock=5), headers=ADMIN
        ).product
        now = int(time.time() * 1000)
        campaign = self.admin.create_coupon_campaign(
            admin_pb2.CreateCouponCampaignRequest(
                name="py", kind=coupon_pb2.DISCOUNT_KIND_FIXED, amount=5_000, total_quantity=1,
                valid_from_unix_ms=now - 1_000, valid_until_unix_ms=now + 600_000,
            ),
            headers=ADMIN,
        ).campaign
        coupon = self.coupons.issue_coupon(coupon_pb2.IssueCouponRequest(user_id=buyer, campaign_id=campaign.id), headers=SERVICE).coupon
        late = self.new_user()
        self.expect_error(
            Code.FAILED_PRECONDITION, "COUPON_SOLD_OUT",
            lambda: self.coupons.issue_coupon(coupon_pb2.IssueCouponRequest(user_id=late, campaign_id=campaign.id), headers=SERVICE),
        )
        self.cart.add_item(cart_pb2.AddCartItemRequest(user_id=buyer, product_id=product.id, quantity=2), headers=SERVICE)
        placed = self.cart.checkout_cart(cart_pb2.CheckoutCartRequest(user_id=buyer, coupon_id=coupon.id), headers=SERVICE)
        self.assertEqual((placed.order.total, placed.order.discount, placed.balance_after), (60_000, 5_000, 45_000))
        fetched = self.orders.get_order(order_pb2.GetOrderRequest(order_id=placed.order.id), headers=SERVICE).order
        self.assertEqual(fetched.status, placed.order.status)
        self.expect_error(
            Code.FAILED_PRECONDITION, "INSUFFICIENT_BALANCE",
            lambda: self.orders.place_order(
                order_pb2.PlaceOrderRequest(user_id=buyer, items=[order_pb2.OrderItem(product_id=product.id, quantity=3)]),
                headers=SERVICE,
            ),
        )
        refund = self.orders.cancel_order(order_pb2.CancelOrderRequest(user_id=buyer, order_id=placed.order.id), headers=SERVICE)
        self.assertEqual((refund.refunded, refund.balance_after), (55_000, 100_000))
        self.assertEqual(self.products.get_product(product_pb2.GetProductRequest(product_id=product.id)).product.stock, 5)

    def test_errors_and_deadlines(self) -> None:
        self.expect_error(
            Code.UNAUTHENTICATED, "MISSING_CREDENTIALS",
            lambda: self.balance.get_balance(balance_pb2.GetBalanceRequest(user_id=1)),
        )
        self.expect_error(
            Code.UNAUTHENTICATED, "TOKEN_MALFORMED",
            lambda: self.balance.get_balance(balance_pb2.GetBalanceRequest(user_id=1), headers={"authorization": "Bearer not.a.token"}),
        )
        self.expect_error(
            Code.INVALID_ARGUMENT, "CHARGE_BELOW_MINIMUM",
            lambda: self.balance.charge_balance(balance_pb2.ChargeBalanceRequest(user_id=self.new_user(), amount=10), headers=SERVICE),
        )
        self.expect_error(
            Code.NOT_FOUND, "PRODUCT_NOT_FOUND",
            lambda: self.products.get_product(product_pb2.GetProductRequest(product_id=987_654)),
        )
        self.expect_error(
            Code.PERMISSION_DENIED, "SCOPE_MISSING",
            lambda: self.admin.restock(admin_pb2.RestockRequest(product_id=1, quantity=1), headers=SERVICE),
        )
        # A deadline already passed is answered DEADLINE_EXCEEDED without running the call.
        self.expect_error(
            Code.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
            lambda: self.users.create_user(user_pb2.CreateUserRequest(name="never"), headers={**SERVICE, "connect-timeout-ms": "0"}),
        )
        # A generous one is honoured.
        health = HealthClientSync(URL).check(builtin_pb2.HealthCheckRequest(), timeout_ms=5_000)
        self.assertEqual(health.status, builtin_pb2.HealthCheckResponse.SERVING_STATUS_SERVING)


if __name__ == "__main__":
    unittest.main()
