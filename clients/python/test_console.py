"""The shop console in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium loads /console from a real commerce-server, an order is placed through the API,
and the page shows the stock fall and the order appear. Screenshots go to COMMERCE_SCREENSHOTS.

Run by run-tests.sh, beside test_connect.py."""

import os
import time
import unittest
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from commerce.v1 import admin_pb2, balance_pb2, order_pb2, user_pb2
from commerce.v1.admin_connect import AdminServiceClientSync
from commerce.v1.balance_connect import BalanceServiceClientSync
from commerce.v1.order_connect import OrderServiceClientSync
from commerce.v1.user_connect import UserServiceClientSync

from test_connect import ADMIN, SERVICE, URL

SCREENSHOTS = os.environ.get("COMMERCE_SCREENSHOTS", "console-screenshots")


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


class ConsoleTests(unittest.TestCase):
    def setUp(self) -> None:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        self.driver = browser()
        # The page redraws its tables every refresh: an element found just before a redraw is gone
        # when its text is read, and the wait simply looks again.
        self.wait = WebDriverWait(
            self.driver, 20, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]
        )

    def tearDown(self) -> None:
        self.driver.quit()

    def text(self, selector: str) -> str:
        for _ in range(10):
            try:
                elements = self.driver.find_elements(By.CSS_SELECTOR, selector)
                return elements[0].text if elements else ""
            except StaleElementReferenceException:
                continue  # redrawn between finding and reading: find it again
        return ""

    def test_stock_and_orders_follow_an_order_placed_through_the_api(self) -> None:
        admin = AdminServiceClientSync(URL)
        product = admin.create_product(
            admin_pb2.CreateProductRequest(name=f"console lamp {uuid.uuid4().hex[:4]}", price=9_000, initial_stock=5), headers=ADMIN
        ).product
        buyer = UserServiceClientSync(URL).create_user(user_pb2.CreateUserRequest(name="console buyer"), headers=SERVICE).user.id
        BalanceServiceClientSync(URL).charge_balance(balance_pb2.ChargeBalanceRequest(user_id=buyer, amount=50_000), headers=SERVICE)

        self.driver.get(f"{URL}/console")
        field = self.driver.find_element(By.ID, "credential")
        field.send_keys(ADMIN["authorization"])  # "Bearer <token>" as an operator would paste it
        self.driver.find_element(By.ID, "connect").click()
        stock = f'#products tr[data-id="{product.id}"] td.stock'
        self.wait.until(lambda _: self.text(stock) == "5")
        self.assertTrue(self.text("#status").startswith("updated"), self.text("#status"))
        self.driver.save_screenshot(os.path.join(SCREENSHOTS, "1-before-order.png"))

        placed = OrderServiceClientSync(URL).place_order(
            order_pb2.PlaceOrderRequest(user_id=buyer, items=[order_pb2.OrderItem(product_id=product.id, quantity=2)]), headers=SERVICE
        ).order
        # The page refreshes by itself: the stock falls and the order shows, paid, at the top.
        self.wait.until(lambda _: self.text(stock) == "3")
        order_row = f'#orders tr[data-id="{placed.id}"]'
        self.wait.until(lambda _: self.text(order_row) != "")
        self.assertIn("PAID", self.text(order_row))
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "#orders tbody tr")[0].get_attribute("data-id"), str(placed.id))
        # The calls panel counts the order from /metrics.
        self.wait.until(lambda _: self.text('#calls tr[data-method="/commerce.v1.OrderService/PlaceOrder"] td.total') != "")
        self.driver.save_screenshot(os.path.join(SCREENSHOTS, "2-after-order.png"))
        time.sleep(0.1)


if __name__ == "__main__":
    unittest.main()
