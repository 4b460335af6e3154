#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven by selenium, against `orderflow demo` on a fresh database.

1. Each role signs in and lands on its own view; the navigation offers only what it may open.
2. Orders created through the API reach the open operations page without a reload: the table
   gains their rows and the counters move (the time it took is printed, not asserted).
3. Filters apply (status), and the table shows only what they select.
4. An alert is acknowledged with a comment from the inbox.
5. An order is found by a partial, differently written ID and its trace opens. When the session
   ends on that open page, the next live update takes the person to the sign-in page, and
   signing in brings them back to the page (not to a bare fragment of it).
6. A store manager sees the board of their store, opens an order and cancels it.
7. When the stream drops (its error handler runs) the page says how old its data is.
8. The invoice stream: START, the cards and the grid move in two sessions at once, STOP, the
   backlog is shown to the end, and both sessions end up with the same rows.

A screenshot of every page, at a tablet size (820×1180) and a desktop size (1440×900), is saved
to the folder printed at the end (ORDERFLOW_SCREENSHOTS chooses it). At both sizes every page is
also audited: text against its background meets WCAG AA contrast (4.5:1, 3:1 for large text;
disabled controls exempt), and every button, field, navigation link and checkbox (by its label,
which ticks it) is at least 44 × 44 px.

Usage: check_dashboard.py PATH-TO-ORDERFLOW-BINARY
"""
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

TABLET = (820, 1180)
DESKTOP = (1440, 900)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, key=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("x-api-key", key)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Check:
    def __init__(self, binary):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.work = tempfile.mkdtemp(prefix="orderflow-dashboard-")
        self.shots = os.environ.get("ORDERFLOW_SCREENSHOTS") or os.path.join(self.work, "screenshots")
        os.makedirs(self.shots, exist_ok=True)
        self.log = open(os.path.join(self.work, "server.log"), "w")
        self.admin_password = secrets.token_urlsafe(18)
        environment = dict(os.environ, ORDERFLOW_ADMIN_PASSWORD=self.admin_password, ORDERFLOW_ALERT_EVALUATION_SECONDS="1",
                           ORDERFLOW_RATE_LIMIT="0", ORDERFLOW_LOG_LEVEL="info")
        self.server = subprocess.Popen(
            [binary, "demo", "--port", str(self.port), "--database", f"sqlite:{self.work}/demo.sqlite", "--simulator-port", str(free_port()),
             "--order-rate", "0", "--decline-rate", "0", "--commerce-failure-rate", "0"],
            stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        self.accounts, self.key = self.wait_for_start()
        options = webdriver.ChromeOptions()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"]:
            options.add_argument(argument)
        options.binary_location = "/usr/bin/chromium"
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.set_page_load_timeout(30)

    def wait_for_start(self):
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"orderflow demo ended; see {self.log.name}")
            with open(self.log.name) as handle:
                text = handle.read()
            key = re.search(r"\b(ofk_[A-Za-z0-9_-]+)", text)
            if key and "Demo sign-ins" in text:
                try:
                    if call(self.base, "GET", "/api/v1/health")[0] == 200:
                        accounts = dict(re.findall(r"^\s{2}(\S+)\s+(\S{12,})\s{3}\S", text.split("Demo sign-ins", 1)[1], re.M))
                        return accounts, key.group(1)
                except OSError:
                    pass
            time.sleep(0.2)
        raise SystemExit(f"orderflow demo did not start; see {self.log.name}")

    def stop(self):
        try:
            self.driver.quit()
        finally:
            self.server.terminate()
            self.server.wait(timeout=20)
            self.log.close()

    # -- browser helpers

    def wait(self, condition, seconds=10, what="the page"):
        try:
            # Live sections are replaced as events arrive: an element read a moment ago may be gone.
            return WebDriverWait(self.driver, seconds, ignored_exceptions=[StaleElementReferenceException]).until(condition)
        except TimeoutException:
            self.shot("failure")
            raise SystemExit(f"timed out waiting for {what} at {self.driver.current_url}")

    def shot(self, name):
        for label, (width, height) in [("tablet", TABLET), ("desktop", DESKTOP)]:
            self.driver.set_window_size(width, height)
            total = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, min(max(height, total), 4000))
            self.driver.save_screenshot(os.path.join(self.shots, f"{name}-{label}.png"))
            if name != "failure":
                self.audit(f"{name} ({label})")
        self.driver.set_window_size(*DESKTOP)

    AUDIT = """
        function rgb(text) { var m = text.match(/[\\d.]+/g) || ["0", "0", "0", "0"]; return m.map(Number); }
        function luminance(c) {
          var v = c.slice(0, 3).map(function (x) { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
          return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
        }
        function background(el) {
          for (; el; el = el.parentElement) {
            var c = rgb(getComputedStyle(el).backgroundColor);
            if (c.length < 4 || c[3] > 0.5) return c;
          }
          return [255, 255, 255];
        }
        var problems = [];
        document.querySelectorAll("body *").forEach(function (el) {
          var own = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
          var box = el.getBoundingClientRect();
          if (!own || box.width === 0 || box.height === 0 || el.closest(":disabled, [aria-hidden=true], .skip")) return;
          var style = getComputedStyle(el);
          var fg = luminance(rgb(style.color)), bg = luminance(background(el));
          var ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
          var size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
          var needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
          if (ratio < needed) problems.push("contrast " + ratio.toFixed(2) + " < " + needed + ": " + el.tagName.toLowerCase() + " '" + el.textContent.trim().slice(0, 40) + "'");
        });
        document.querySelectorAll("button, select, input:not([type=checkbox]):not([type=hidden]), textarea, a.button, header nav a").forEach(function (el) {
          var box = el.getBoundingClientRect();
          if (box.width === 0 || box.height === 0) return;
          if (box.width < 44 || box.height < 44) problems.push("target " + Math.round(box.width) + "x" + Math.round(box.height) + ": " + el.tagName.toLowerCase() + " '" + (el.textContent || el.name || "").trim().slice(0, 40) + "'");
        });
        // A checkbox's target is its label when it has one (a click there ticks it).
        document.querySelectorAll("input[type=checkbox]").forEach(function (el) {
          var target = el.closest("label") || el;
          var box = target.getBoundingClientRect();
          if (box.width === 0 || box.height === 0) return;
          if (box.width < 44 || box.height < 44) problems.push("target " + Math.round(box.width) + "x" + Math.round(box.height) + ": checkbox '" + (el.getAttribute("aria-label") || el.name || "").slice(0, 40) + "'");
        });
        return problems;
    """

    def audit(self, where):
        problems = self.driver.execute_script(self.AUDIT)
        if problems:
            raise SystemExit(f"{where} fails WCAG AA contrast or the 44-px target size:\n  " + "\n  ".join(problems[:12]))

    def sign_in(self, username):
        self.driver.delete_all_cookies()
        # Leave the open page at once: its script would otherwise notice the session ending and
        # go to the sign-in page by itself, racing this one.
        self.driver.get("about:blank")
        self.driver.get(self.base + "/login")
        self.driver.find_element(By.ID, "username").send_keys(username)
        self.driver.find_element(By.ID, "password").send_keys(self.accounts[username])
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "header.top")), what=f"{username}'s first page")

    def live(self):
        self.wait(lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live", what="the live stream")

    def nav(self):
        return [a.text for a in self.driver.find_elements(By.CSS_SELECTOR, "header nav a")]

    def texts(self, selector):
        """The text of every match, read at one instant (a live section may be replaced meanwhile)."""
        return self.driver.execute_script("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText)", selector)

    def text(self, selector):
        return (self.texts(selector) or [""])[0]

    def order(self, order_id, store="QC-BKK-001", payment="cod"):
        body = {"orderId": order_id, "shipFromLocationId": store, "orderType": "delivery", "channel": "app", "isForceAllocation": True,
                "paymentMethod": payment, "customer": {"id": "CUST-DASH", "name": "Dashboard Check", "phone": "+66 81 234 5678"},
                "deliveryAddress": {"line1": "1 Sukhumvit Road", "city": "Bangkok", "postalCode": "10110", "country": "TH"},
                "lines": [{"sku": "COF-AMZ-250", "quantity": 1}]}
        status, answer = call(self.base, "POST", "/api/orders", body, key=self.key)
        if status != 201:
            raise SystemExit(f"creating {order_id}: {status} {answer}")

    # -- the checks

    def roles(self):
        expected = {
            "ops": ("/dashboard/operations", {"Operations", "Store", "Order trace", "Development", "Management", "Invoices"}),
            "dev": ("/dashboard/development", {"Operations", "Store", "Order trace", "Development", "Management", "Invoices"}),
            "manager": ("/dashboard/management", {"Operations", "Order trace", "Management", "Store", "Invoices"}),
            "store.sukhumvit": ("/dashboard/store", {"Store"}),
        }
        for username, (landing, links) in expected.items():
            self.sign_in(username)
            path = self.driver.current_url.replace(self.base, "").split("?")[0]
            if path != landing:
                raise SystemExit(f"{username} landed on {path}, not {landing}")
            if set(self.nav()) != links:
                raise SystemExit(f"{username} is offered {sorted(self.nav())}, expected {sorted(links)}")
            self.live()
            self.shot(f"{username.replace('.', '-')}-{landing.rsplit('/', 1)[1]}")
            print(f"ok  {username} lands on {landing}; navigation {sorted(links)}")
        # A store manager asking for a view it may not open is refused with a page, not data.
        self.driver.get(self.base + "/dashboard/operations")
        if "403" not in self.driver.find_element(By.TAG_NAME, "h1").text:
            raise SystemExit("a store manager opened the operations view")
        print("ok  a store manager is refused the operations view (403 page)")

    def live_updates(self):
        self.sign_in("ops")
        self.live()
        self.driver.execute_script("window.__notReloaded = true")
        before = self.text("#count-success")
        stamp = secrets.token_hex(3).upper()
        ids = [f"DASH-{stamp}-{n}" for n in range(1, 4)]
        started = time.monotonic()
        for order_id in ids:
            self.order(order_id)
        self.wait(lambda d: all(any(order_id in row for row in self.texts("#transmissions tbody tr")) for order_id in ids), 30, "the new orders' rows")
        seen = time.monotonic() - started
        if not self.driver.find_elements(By.CSS_SELECTOR, "#transmissions tr.new"):
            raise SystemExit("new rows are not highlighted")
        self.wait(lambda d: self.text("#count-success") != before, 30, "the success counter to move")
        if not self.driver.execute_script("return window.__notReloaded === true"):
            raise SystemExit("the page reloaded")
        self.shot("operations-live")
        print(f"ok  three orders appear on the open operations page without a reload ({seen:.2f} s from the first POST, "
              f"rows highlighted); success counter {before} → {self.text('#count-success')}")
        return ids

    def filters(self):
        Select(self.driver.find_element(By.ID, "f-status")).select_by_value("success")
        Select(self.driver.find_element(By.ID, "f-minutes")).select_by_value("60")
        self.driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        self.wait(lambda d: "status=success" in d.current_url, what="the filtered page")
        badges = self.texts("#transmissions tbody td .badge")
        if not badges or any(text != "Success" for text in badges):
            raise SystemExit(f"status filter shows {set(badges)}")
        self.shot("operations-filtered")
        print(f"ok  filter status=success shows {len(badges)} rows, all Success")

    def alert(self):
        # Rules are the administrator's to write; operations acknowledges what they raise.
        status, answer = call(self.base, "POST", "/api/auth/login", {"username": "admin", "password": self.admin_password})
        token = answer["accessToken"]
        rule = {"name": "DashboardCheck", "kind": "no_new_orders", "threshold": 1000000, "windowSeconds": 600, "forSeconds": 0, "severity": "warning"}
        status, answer = call(self.base, "POST", "/api/v1/alert-rules", rule, token=token)
        if status != 201:
            raise SystemExit(f"creating an alert rule: {status} {answer}")
        self.driver.get(self.base + "/dashboard/operations")
        self.live()
        self.wait(lambda d: any("DashboardCheck" in t for t in self.texts("#alerts li")), 60, "the alert in the inbox")
        item = [e for e in self.driver.find_elements(By.CSS_SELECTOR, "#alerts li") if "DashboardCheck" in e.text][0]
        item.find_element(By.NAME, "comment").send_keys("looking into it from the browser check")
        item.find_element(By.CSS_SELECTOR, "button.primary").click()
        self.wait(lambda d: "acknowledged" in self.text(".notice"),
                  what="the acknowledgement notice")
        acknowledged = [t for t in self.texts("#alerts li") if "DashboardCheck" in t]
        if not acknowledged or "acknowledged" not in acknowledged[0] or "looking into it" not in acknowledged[0]:
            raise SystemExit(f"the alert does not show its acknowledgement: {acknowledged}")
        self.shot("operations-alert-acknowledged")
        print("ok  an alert is acknowledged with a comment from the inbox")

    def trace(self, order_id):
        written_otherwise = order_id.lower().replace("-", " ")
        self.driver.get(self.base + "/dashboard/trace")
        box = self.driver.find_element(By.ID, "q")
        box.send_keys(written_otherwise)
        box.submit()
        self.wait(EC.presence_of_element_located((By.ID, "trace")), what=f"the trace of {order_id} found as '{written_otherwise}'")
        heading = self.driver.find_element(By.CSS_SELECTOR, "#trace h2").text
        if order_id not in heading:
            raise SystemExit(f"the trace shows {heading}, not {order_id}")
        if not self.driver.find_elements(By.XPATH, "//h2[contains(., 'commerce')]"):
            raise SystemExit("the trace shows no transmission to commerce")
        self.shot("trace")
        print(f"ok  '{written_otherwise}' finds {order_id}; its trace shows history, events and transmissions")

    def session_ends(self, order_id):
        page = f"/dashboard/trace?q={order_id}"
        self.driver.get(self.base + page)
        self.live()
        # The session ends (cookies gone, as after expiry); the stream already open goes on, and
        # the next event makes the page ask for a fragment, which is refused.
        self.driver.delete_all_cookies()
        self.order(f"SESSION-{secrets.token_hex(3).upper()}")
        self.wait(lambda d: "/login" in d.current_url, what="the sign-in page after the session ended")
        if "fragment" in urllib.parse.unquote(self.driver.current_url):
            raise SystemExit(f"signing in again would lead to a bare fragment: {self.driver.current_url}")
        self.driver.find_element(By.ID, "username").send_keys("ops")
        self.driver.find_element(By.ID, "password").send_keys(self.accounts["ops"])
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda d: d.current_url == self.base + page, what=f"the way back to {page} after signing in")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "header.top")), what="the page, whole")
        print(f"ok  a session ending on an open page leads to sign-in and back to {page}")

    def store(self):
        stamp = secrets.token_hex(3).upper()
        mine, theirs = f"STORE-{stamp}-1", f"STORE-{stamp}-2"
        self.order(mine, store="QC-BKK-001")
        self.order(theirs, store="QC-BKK-002")
        self.sign_in("store.sukhumvit")
        self.live()
        board = self.driver.find_element(By.CSS_SELECTOR, ".board").text
        if mine not in board or theirs in board:
            raise SystemExit(f"the store board should show {mine} and not {theirs}")
        self.driver.find_element(By.PARTIAL_LINK_TEXT, mine).click()
        self.wait(EC.presence_of_element_located((By.ID, "order")), what=f"the detail of {mine}")
        self.shot("store-order-detail")
        reason = self.cancel_reason()
        if reason is not None:
            # Typing holds the live section: another order's event arrives, the page does not
            # replace the form under the manager, and what they typed is still there.
            reason.send_keys("customer called")
            self.order(f"STORE-{stamp}-3", store="QC-BKK-001")
            self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-fragment=order][data-held]"), what="the order section held while the manager types")
            if reason.get_attribute("value") != "customer called":
                raise SystemExit(f"the cancel reason being typed became '{reason.get_attribute('value')}' after a live update")
            held = self.driver.find_element(By.ID, "live-status").text
            self.driver.find_element(By.CSS_SELECTOR, "form[action$='/cancel'] button").click()
            self.wait(EC.alert_is_present(), what="the confirmation")
            self.driver.switch_to.alert.accept()
            self.wait(lambda d: "cancelled" in self.text(".notice"), what="the cancellation notice")
            print(f"ok  the store manager sees only their store's orders, opens {mine} and cancels it (confirmed); while typing the reason: '{held}'")
        else:
            status = self.driver.find_element(By.CSS_SELECTOR, "#order h2").text
            print(f"ok  the store manager sees only their store's orders and opens {mine} ({status}: past cancelling)")
        self.driver.get(self.base + "/dashboard/store")
        self.shot("store-board")

    def cancel_reason(self):
        """The reason field of the order's cancel form, or None when the order is past cancelling.
        The section may be replaced by a live update between finding the field and focusing it."""
        for _ in range(5):
            try:
                fields = self.driver.find_elements(By.CSS_SELECTOR, "form[action$='/cancel'] [name=reason]")
                if not fields:
                    return None
                fields[0].click()
                return fields[0]
            except StaleElementReferenceException:
                continue
        raise SystemExit("the cancel form was replaced five times in a row before it could be used")

    def stale(self):
        self.sign_in("ops")
        self.live()
        # Drop the stream the way a network would; the page must say its data is old, then recover.
        self.driver.execute_script("window.orderflowStream.close(); window.orderflowStream.onerror();")
        state = self.driver.find_element(By.ID, "live-status")
        if state.get_attribute("data-state") != "stale" or "data as of" not in state.text:
            raise SystemExit(f"a dropped stream shows '{state.text}'")
        self.shot("operations-stale")
        print(f"ok  a dropped stream shows: {state.text}")

    def invoices(self):
        self.sign_in("ops")
        self.driver.get(self.base + "/dashboard/invoices")
        self.live()
        # A second session (management may watch, not control) on the same page.
        options = webdriver.ChromeOptions()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={TABLET[0]},{TABLET[1]}"]:
            options.add_argument(argument)
        options.binary_location = "/usr/bin/chromium"
        other = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            other.get(self.base + "/login")
            other.find_element(By.ID, "username").send_keys("manager")
            other.find_element(By.ID, "password").send_keys(self.accounts["manager"])
            other.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            WebDriverWait(other, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "header.top")))
            other.get(self.base + "/dashboard/invoices")
            WebDriverWait(other, 10).until(lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live")
            if other.find_elements(By.ID, "invoice-start"):
                raise SystemExit("management is offered START")

            def state(driver):
                return driver.execute_script("var e = document.getElementById('invoice-state'); return e && e.dataset.state")

            def rows(driver):
                return driver.execute_script("return Array.from(document.querySelectorAll('#invoice-grid tbody tr')).map(r => r.dataset.row)")

            def count(driver):
                return int(driver.execute_script("return document.getElementById('inv-count').textContent") or 0)

            if state(self.driver) != "idle" or self.driver.find_element(By.ID, "invoice-stop").is_enabled():
                raise SystemExit("before START the stream should be idle with STOP disabled")
            self.driver.find_element(By.ID, "invoice-start").click()
            self.wait(lambda d: state(d) == "running", what="the running state")
            self.driver.execute_script("window.__notReloaded = true")
            self.wait(lambda d: len(rows(d)) >= 6 and count(d) >= 12, 30, "six rows and twelve invoices counted")
            WebDriverWait(other, 30).until(lambda d: len(rows(d)) >= 6 and count(d) >= 12)
            if not self.driver.find_elements(By.CSS_SELECTOR, "#invoice-grid tr.new"):
                raise SystemExit("new invoices are not highlighted")
            self.shot("invoices-running")
            if not self.driver.execute_script("return window.__notReloaded === true"):
                raise SystemExit("the invoice page reloaded while invoices arrived")
            self.driver.find_element(By.ID, "invoice-stop").click()
            # More were made (5 a second) than shown (2 a second): STOP leaves a backlog to see.
            self.wait(lambda d: state(d) == "processing_backlog", what="the backlog state")
            self.driver.execute_script("window.__notReloaded = true")
            backlog = self.text("#inv-backlog")
            if int(backlog or 0) <= 0:
                raise SystemExit(f"processing the backlog with {backlog!r} left to show")
            self.shot("invoices-backlog")
            WebDriverWait(other, 60).until(lambda d: state(d) == "idle")
            self.wait(lambda d: state(d) == "idle", 60, "the end of the backlog")
            made = count(self.driver)
            self.wait(lambda d: len(rows(d)) == made, 10, f"all {made} invoices in the grid")
            WebDriverWait(other, 10).until(lambda d: len(rows(d)) == made)
            if rows(self.driver) != rows(other):
                raise SystemExit("the two sessions show different invoices")
            if not self.driver.execute_script("return window.__notReloaded === true"):
                raise SystemExit("the invoice page reloaded while the backlog was shown")
            self.shot("invoices-idle")
            print(f"ok  START → rows and cards move in two sessions; STOP → backlog ({backlog} left) shown to the end; "
                  f"both sessions show the same {made} invoices")
        finally:
            other.quit()

    def pages(self):
        self.sign_in("dev")
        self.shot("development")
        self.sign_in("manager")
        self.shot("management")
        self.driver.get(self.base + "/logout")
        self.driver.delete_all_cookies()
        self.driver.get(self.base + "/")
        if "/login" not in self.driver.current_url:
            raise SystemExit("signed out, / should lead to the sign-in page")
        self.shot("login")


def main():
    check = Check(sys.argv[1])
    try:
        check.roles()
        ids = check.live_updates()
        check.filters()
        check.alert()
        check.trace(ids[0])
        check.session_ends(ids[1])
        check.store()
        check.stale()
        check.invoices()
        check.pages()
    finally:
        check.stop()
    print(f"every dashboard check passed (every page also met WCAG AA contrast and 44-px targets at both sizes); screenshots in {check.shots}")


if __name__ == "__main__":
    main()
