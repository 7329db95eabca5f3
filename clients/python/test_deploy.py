"""deploy/ against a running server: every metric the Prometheus alert rules and the Grafana
dashboard name is in the server's /metrics, and the shop's series count what the API did.

Run by run-tests.sh, beside test_connect.py."""

import json
import os
import re
import time
import unittest
import urllib.request
import uuid

import yaml

from commerce.v1 import admin_pb2, balance_pb2, coupon_pb2, order_pb2, user_pb2
from commerce.v1.admin_connect import AdminServiceClientSync
from commerce.v1.balance_connect import BalanceServiceClientSync
from commerce.v1.coupon_connect import CouponServiceClientSync
from commerce.v1.order_connect import OrderServiceClientSync
from commerce.v1.user_connect import UserServiceClientSync
from connectrpc.errors import ConnectError

from test_connect import ADMIN, SERVICE, URL

DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy")
NAME = re.compile(r"\b((?:rpc_server|commerce|outbox|auth|process)_[a-z0-9_]+)")


def scrape() -> dict[str, float]:
    """Every sample of /metrics, keyed by its line's name and labels."""
    text = urllib.request.urlopen(f"{URL}/metrics").read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def names_in(expressions: list[str]) -> set[str]:
    found = set()
    for expression in expressions:
        for name in NAME.findall(expression):
            found.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return found


class DeployTests(unittest.TestCase):
    def test_every_metric_the_alerts_and_the_dashboard_name_is_served(self) -> None:
        with open(os.path.join(DEPLOY, "prometheus", "alerts.yml")) as file:
            rules = [rule for group in yaml.safe_load(file)["groups"] for rule in group["rules"]]
        with open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")) as file:
            config = yaml.safe_load(file)
        self.assertEqual(config["rule_files"], ["alerts.yml"])
        with open(os.path.join(DEPLOY, "grafana", "commerce-dashboard.json")) as file:
            dashboard = json.load(file)
        alert_names = names_in([rule["expr"] for rule in rules])
        panel_names = names_in([target["expr"] for panel in dashboard["panels"] for target in panel["targets"]])
        self.assertGreaterEqual(len(alert_names), 7)
        self.assertGreaterEqual(len(panel_names), 15)
        served = {re.sub(r"\{.*", "", key) for key in scrape()}
        for name in sorted(alert_names | panel_names):
            self.assertTrue(
                name in served or f"{name}_bucket" in served,
                f"{name} is named in deploy/ but the server does not export it",
            )

    def test_the_shop_series_count_what_the_api_did(self) -> None:
        before = scrape()
        admin = AdminServiceClientSync(URL)
        product = admin.create_product(admin_pb2.CreateProductRequest(name=f"metered {uuid.uuid4().hex[:4]}", price=4_000, initial_stock=2), headers=ADMIN).product
        buyer = UserServiceClientSync(URL).create_user(user_pb2.CreateUserRequest(name="metered"), headers=SERVICE).user.id
        BalanceServiceClientSync(URL).charge_balance(balance_pb2.ChargeBalanceRequest(user_id=buyer, amount=50_000), headers=SERVICE)
        orders = OrderServiceClientSync(URL)
        placed = orders.place_order(
            order_pb2.PlaceOrderRequest(user_id=buyer, items=[order_pb2.OrderItem(product_id=product.id, quantity=2)]), headers=SERVICE
        ).order
        with self.assertRaises(ConnectError):
            orders.place_order(
                order_pb2.PlaceOrderRequest(user_id=buyer, items=[order_pb2.OrderItem(product_id=product.id, quantity=1)]), headers=SERVICE
            )
        orders.cancel_order(order_pb2.CancelOrderRequest(user_id=buyer, order_id=placed.id), headers=SERVICE)
        now = int(time.time() * 1000)
        campaign = admin.create_coupon_campaign(
            admin_pb2.CreateCouponCampaignRequest(
                name="metered", kind=coupon_pb2.DISCOUNT_KIND_FIXED, amount=1_000, total_quantity=1,
                valid_from_unix_ms=now - 1_000, valid_until_unix_ms=now + 600_000,
            ),
            headers=ADMIN,
        ).campaign
        coupons = CouponServiceClientSync(URL)
        coupons.issue_coupon(coupon_pb2.IssueCouponRequest(user_id=buyer, campaign_id=campaign.id), headers=SERVICE)
        other = UserServiceClientSync(URL).create_user(user_pb2.CreateUserRequest(name="late"), headers=SERVICE).user.id
        with self.assertRaises(ConnectError):
            coupons.issue_coupon(coupon_pb2.IssueCouponRequest(user_id=other, campaign_id=campaign.id), headers=SERVICE)
        after = scrape()

        def delta(key: str) -> float:
            return after.get(key, 0) - before.get(key, 0)

        self.assertEqual(delta("commerce_orders_paid_total"), 1)
        self.assertEqual(delta("commerce_orders_paid_won_total"), 8_000)
        self.assertEqual(delta("commerce_orders_refunded_total"), 1)
        self.assertEqual(delta("commerce_orders_refunded_won_total"), 8_000)
        self.assertEqual(delta("commerce_out_of_stock_refusals_total"), 1)
        self.assertEqual(delta("commerce_coupons_issued_total"), 1)
        self.assertEqual(delta('commerce_coupons_refused_total{reason="COUPON_SOLD_OUT"}'), 1)
        self.assertGreaterEqual(delta("commerce_store_commit_batch_size_count"), 1)


if __name__ == "__main__":
    unittest.main()
