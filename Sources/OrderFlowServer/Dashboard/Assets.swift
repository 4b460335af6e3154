import Crypto
import Foundation
import Hummingbird
import NIOCore

/// The dashboard's one stylesheet and one script, compiled into the binary: nothing to install,
/// nothing fetched from elsewhere, so the pages work offline (ARCHITECTURE.md).
enum Assets {
    /// Changes when either file does; pages ask for `?v=` it, so a browser never keeps an old copy.
    static let version: String = {
        let digest = SHA256.hash(data: Data((css + script).utf8))
        return digest.prefix(6).map { String(format: "%02x", $0) }.joined()
    }()

    static func response(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=31536000, immutable"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let css = #"""
        :root {
          --ink: #1a1a1a; --muted: #4a4a4a; --line: #c9ccd1; --paper: #ffffff; --wash: #f3f4f6;
          --accent: #0b57d0; --ok: #1b6e2e; --ok-bg: #e3f4e6; --warn: #8a4b00; --warn-bg: #fff0d9;
          --bad: #a3221b; --bad-bg: #fde7e5; --info: #24508f; --info-bg: #e6eefb; --new: #fff7c2;
          font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--wash);
        }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        body { margin: 0; }
        a { color: var(--accent); }
        :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 8px; top: 8px; background: var(--paper); padding: 8px; z-index: 10; }
        .top { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 16px; padding: 4px 16px; background: #14213d; color: #fff; }
        .top a, .top .link { color: #fff; }
        .brand { font-weight: 700; margin-right: 8px; }
        .top nav { display: flex; flex-wrap: wrap; gap: 4px; flex: 1; }
        .top nav a { display: inline-flex; align-items: center; min-height: 44px; padding: 0 12px; border-radius: 6px; text-decoration: none; }
        .top nav a[aria-current=page] { background: #fff; color: #14213d; font-weight: 600; }
        .who { font-size: 14px; }
        main { padding: 12px 16px 48px; max-width: 1400px; margin: 0 auto; }
        h1 { font-size: 24px; margin: 8px 0 12px; }
        h2 { font-size: 18px; margin: 0 0 8px; }
        .live-status { margin: 0; padding: 6px 16px; font-size: 14px; background: var(--ok-bg); color: var(--ok); }
        .live-status[data-state=connecting] { background: var(--info-bg); color: var(--info); }
        .live-status[data-state=stale] { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
        body.stale .live { opacity: .75; }
        .card { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; margin-bottom: 16px; }
        .grid { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
        .counters { display: grid; gap: 12px; grid-template-columns: repeat(3, 1fr); margin-bottom: 16px; }
        @media (min-width: 1100px) { .counters { grid-template-columns: repeat(6, 1fr); } }
        .counter { background: var(--paper); border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 10px; padding: 10px 14px; }
        .counter .n { display: block; font-size: 32px; font-weight: 700; font-variant-numeric: tabular-nums; }
        .counter.ok { border-left-color: var(--ok); } .counter.warn { border-left-color: var(--warn); }
        .counter.bad { border-left-color: var(--bad); } .counter.info { border-left-color: var(--info); }
        .tiles { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); }
        .tile { border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; background: var(--paper); }
        .badge { display: inline-block; padding: 2px 8px; border-radius: 999px; font-size: 14px; font-weight: 600; white-space: nowrap; }
        .badge.ok { background: var(--ok-bg); color: var(--ok); } .badge.warn { background: var(--warn-bg); color: var(--warn); }
        .badge.bad { background: var(--bad-bg); color: var(--bad); } .badge.info { background: var(--info-bg); color: var(--info); }
        table { width: 100%; border-collapse: collapse; background: var(--paper); font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: 14px; color: var(--muted); background: var(--wash); position: sticky; top: 0; }
        .scroll { overflow-x: auto; }
        #transmissions td:not(:last-child) { white-space: nowrap; }
        tr.new { animation: arrive 4s ease-out; }
        @keyframes arrive { from { background: var(--new); } to { background: transparent; } }
        form.filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-end; }
        label { display: block; font-size: 14px; color: var(--muted); }
        input, select, textarea, button { font: inherit; min-height: 44px; }
        input, select, textarea { border: 1px solid #8a8f98; border-radius: 6px; padding: 6px 10px; background: #fff; color: var(--ink); }
        button, .button { display: inline-flex; align-items: center; justify-content: center; min-height: 44px; min-width: 44px; padding: 0 16px;
          border-radius: 6px; border: 1px solid #8a8f98; background: #fff; color: var(--ink); cursor: pointer; text-decoration: none; }
        button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
        button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
        button.link { border: 0; background: none; text-decoration: underline; padding: 0 8px; }
        .actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
        .actions form { display: flex; gap: 8px; align-items: center; margin: 0; }
        .muted { color: var(--muted); }
        .error { color: var(--bad); font-weight: 600; }
        .notice { background: var(--ok-bg); color: var(--ok); padding: 8px 12px; border-radius: 6px; }
        .board { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); }
        .column h2 { display: flex; justify-content: space-between; }
        .column ol { list-style: none; margin: 0; padding: 0; }
        .column li { border: 1px solid var(--line); border-radius: 8px; padding: 8px; margin-bottom: 8px; background: var(--paper); display: flex; gap: 8px; align-items: flex-start; }
        .column li input[type=checkbox] { width: 24px; min-height: 24px; margin: 10px; }
        .column li a { display: block; min-height: 44px; flex: 1; }
        .timeline { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
        .timeline li { padding: 4px 0 10px 14px; }
        figure.chart { margin: 0; }
        figure.chart .plot { display: block; width: 100%; height: 110px; background: var(--wash); border-radius: 4px; }
        .axis { display: flex; justify-content: space-between; font-size: 13px; color: var(--muted); font-variant-numeric: tabular-nums; }
        .legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; color: var(--muted); }
        .legend span { display: inline-flex; align-items: center; gap: 6px; }
        svg.swatch { width: 12px; height: 12px; }
        ol.ranking { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: minmax(8em, max-content) 1fr max-content; gap: 6px 10px; align-items: center; }
        ol.ranking li { display: contents; }
        ol.ranking .label { overflow-wrap: anywhere; }
        ol.ranking svg.bar { width: 100%; height: 16px; display: block; }
        ol.ranking .value { font-variant-numeric: tabular-nums; font-weight: 600; }
        .bar-ok { fill: var(--ok); } .bar-warn { fill: #c46e00; } .bar-bad { fill: var(--bad); } .bar-info { fill: var(--info); }
        .line { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
        .dots { fill: none; stroke: var(--accent); stroke-width: 7; stroke-linecap: round; vector-effect: non-scaling-stroke; }
        body.login { display: grid; place-items: center; min-height: 100vh; }
        .login-form { width: min(420px, 92vw); display: grid; gap: 8px; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
        dl.facts dt { color: var(--muted); }
        pre { white-space: pre-wrap; word-break: break-word; background: var(--wash); padding: 8px; border-radius: 6px; font-size: 13px; }
        .control-panel .actions { align-items: center; }
        .control-panel .state { margin: 0 0 0 auto; font-size: 18px; }
        .control-panel .state .badge { font-size: 16px; padding: 6px 14px; }
        button:disabled { opacity: .45; cursor: not-allowed; }
        .counters.four { grid-template-columns: repeat(2, 1fr); }
        @media (min-width: 900px) { .counters.four { grid-template-columns: repeat(4, 1fr); } }
        /* overflow-anchor: the page decides where the reader stays when rows arrive on top, not the browser. */
        .invoice-scroll { max-height: 62vh; overflow-y: auto; overflow-anchor: none; border: 1px solid var(--line); border-radius: 8px; }
        .invoice-scroll td.num, .invoice-scroll td:nth-child(-n+2) { white-space: nowrap; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .jump { position: sticky; bottom: 12px; margin-top: 8px; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        .print-only { display: none; }
        form.stack { display: grid; gap: 6px; }
        details > summary { cursor: pointer; min-height: 44px; display: flex; align-items: center; gap: 6px; flex-wrap: wrap; }
        @media print {
          .print-only { display: block; }
          .top, .live-status, form, button, .actions { display: none !important; }
          body, .card { background: #fff; border: 0; }
        }
        """#

    static let script = #"""
        // OrderFlow's live pages: one EventSource per page, fragments fetched again when their topics
        // change, the page marked stale while the stream is down. No framework, nothing to build.
        (function () {
          "use strict";
          var body = document.body;
          var status = document.getElementById("live-status");
          var sections = Array.prototype.slice.call(document.querySelectorAll("[data-fragment]"));
          var pending = {};
          var lastUpdate = new Date();
          var firstSeen = {};
          var timer = null;

          function time(d) { return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }); }
          function setStatus(state, text) {
            if (!status) return;
            status.dataset.state = state;
            status.textContent = text;
            body.classList.toggle("stale", state === "stale");
          }
          function fragmentURL(name) {
            var url = new URL(window.location.href);
            url.searchParams.set("fragment", name);
            return url.pathname + url.search;
          }
          function rowKeys(section) {
            var keys = {};
            section.querySelectorAll("[data-row]").forEach(function (row) { keys[row.dataset.row] = true; });
            return keys;
          }
          function refresh(section) {
            var name = section.dataset.fragment;
            return fetch(fragmentURL(name), { headers: { "X-Fragment": "1" }, credentials: "same-origin" }).then(function (response) {
              if (response.headers.get("X-Retry")) return refresh(section);
              if (response.status === 401) {
                setStatus("stale", "Signed out: sign in again to see live data.");
                window.location.href = response.headers.get("X-Sign-In") || "/login";
                return;
              }
              if (!response.ok) throw new Error("HTTP " + response.status);
              return response.text().then(function (html) {
                var before = rowKeys(section);
                section.innerHTML = html;
                // A row the page did not show before is new; it stays marked for a few seconds
                // after it first appeared, across refreshes.
                var now = Date.now();
                section.querySelectorAll("[data-row]").forEach(function (row) {
                  var key = row.dataset.row;
                  if (!before[key] && !firstSeen[key]) firstSeen[key] = now;
                  if (firstSeen[key] && now - firstSeen[key] < 4000) row.classList.add("new");
                });
                // Forget what is no longer new, so a page open for days does not grow.
                Object.keys(firstSeen).forEach(function (key) { if (now - firstSeen[key] >= 4000) delete firstSeen[key]; });
                lastUpdate = new Date();
                section.dispatchEvent(new CustomEvent("orderflow:updated", { bubbles: true }));
              });
            });
          }
          // One request per section at a time: changes that arrive meanwhile cause one more, not one each.
          var inflight = {};
          function run(section) {
            var name = section.dataset.fragment;
            if (inflight[name]) { inflight[name] = "again"; return; }
            inflight[name] = true;
            refresh(section).catch(function () {
              setStatus("stale", "Could not refresh: data as of " + time(lastUpdate) + ".");
            }).then(function () {
              var again = inflight[name] === "again";
              inflight[name] = false;
              if (again) run(section);
            });
          }
          function schedule(topic, type) {
            sections.forEach(function (section) {
              var topics = (section.dataset.topics || "").split(",");
              var types = section.dataset.types ? section.dataset.types.split(",") : null;
              if (topic === "*" || (topics.indexOf(topic) >= 0 && (!types || types.indexOf(type) >= 0))) pending[section.dataset.fragment] = section;
            });
            if (timer) return;
            timer = setTimeout(function () {
              timer = null;
              var due = pending;
              pending = {};
              Object.keys(due).forEach(function (name) { run(due[name]); });
            }, 120);
          }

          // Select-all boxes and confirmations for actions that change orders.
          document.addEventListener("change", function (event) {
            var box = event.target;
            if (box.matches && box.matches("input[data-select-all]")) {
              document.querySelectorAll("input[name='" + box.dataset.selectAll + "']").forEach(function (other) { other.checked = box.checked; });
            }
          });
          document.addEventListener("click", function (event) {
            if (event.target.closest && event.target.closest("[data-print]")) window.print();
          });
          document.addEventListener("submit", function (event) {
            var form = event.target;
            if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
          });

          if (!body.dataset.live || !window.EventSource) {
            if (status) status.hidden = true;
            return;
          }
          var topics = {};
          sections.forEach(function (s) { (s.dataset.topics || "").split(",").forEach(function (t) { if (t) topics[t] = true; }); });
          var names = Object.keys(topics);
          if (names.length === 0) { status.hidden = true; return; }
          var source = new EventSource("/api/v1/stream?topics=" + names.join(",") + "&after=" + encodeURIComponent(body.dataset.live));
          var wasDown = false;
          source.onopen = function () {
            setStatus("live", "Live · updates as they happen");
            if (wasDown) schedule("*");
            wasDown = false;
          };
          source.onerror = function () {
            wasDown = true;
            setStatus("stale", "Live updates paused: showing data as of " + time(lastUpdate) + ", reconnecting…");
          };
          names.forEach(function (topic) {
            source.addEventListener(topic, function (message) {
              setStatus("live", "Live · last change " + time(new Date()));
              var data = null;
              try { data = JSON.parse(message.data); } catch (e) { data = null; }
              schedule(topic, data && data.type);
              // Pages that use the event itself (the invoice grid) listen for this.
              if (data) document.dispatchEvent(new CustomEvent("orderflow:event", { detail: data }));
            });
          });
          source.addEventListener("reset", function () { schedule("*"); });
          window.orderflowStream = source;
        })();

        // The invoice page: a row per shown invoice on top of the grid, highlighted; the grid follows
        // the newest unless the reader has scrolled down (then it keeps their place and offers a way
        // back); older invoices load as the reader nears the bottom.
        (function () {
          "use strict";
          if (!document.getElementById("invoice-grid")) return;
          function byId(id) { return document.getElementById(id); }
          function setText(id, text) { var e = byId(id); if (e && text !== undefined && text !== null) e.textContent = text; }
          function grouped(text) {
            if (!text) return "–";
            var parts = text.split(".");
            return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (parts.length > 1 ? "." + parts[1] : "");
          }
          function when(iso) {
            var today = new Date().toISOString().slice(0, 10);
            return iso.slice(0, 10) === today ? iso.slice(11, 19) : iso.slice(5, 16).replace("T", " ");
          }
          document.addEventListener("orderflow:event", function (event) {
            var data = event.detail;
            if (data.topic !== "invoice") return;
            if (data.type === "invoice.produced") {
              setText("inv-produced", grouped(String(data.made)));
              setText("inv-count", grouped(String(data.count)));
              setText("inv-total", grouped(data.totalAmount));
              setText("inv-vat", grouped(data.totalVat));
              setText("inv-average", grouped(data.averageAmount));
              return;
            }
            if (data.type !== "invoice.shown") return;
            setText("inv-backlog", String(data.backlog));
            var grid = byId("invoice-grid");
            var scroller = byId("invoice-scroll");
            if (!grid || !scroller || grid.querySelector("[data-row='i" + data.invoiceId + "']")) return;
            var row = document.createElement("tr");
            row.dataset.row = "i" + data.invoiceId;
            row.className = "new";
            [[data.invoiceNumber], [when(data.invoiceDate)], [data.seller], [data.buyer], [grouped(data.subtotal), "num"], [grouped(data.vat), "num"], [grouped(data.total), "num"]].forEach(function (item) {
              var cell = document.createElement("td");
              cell.textContent = item[0];
              if (item[1]) cell.className = item[1];
              row.appendChild(cell);
            });
            var tbody = grid.tBodies[0];
            tbody.insertBefore(row, tbody.firstChild);
            if (scroller.scrollTop < 40) {
              scroller.scrollTo({ top: 0, behavior: "smooth" });
              // A page left open through many cycles keeps the newest rows; older ones load again on scrolling.
              while (tbody.rows.length > 500) { tbody.deleteRow(-1); exhausted = false; }
            } else {
              // The reader is further down: keep what they are reading where it is.
              scroller.scrollTop += row.offsetHeight;
              byId("invoice-jump").hidden = false;
            }
          });
          document.addEventListener("click", function (event) {
            if (!event.target.closest || !event.target.closest("#invoice-jump")) return;
            byId("invoice-scroll").scrollTo({ top: 0, behavior: "smooth" });
            byId("invoice-jump").hidden = true;
          });
          var loading = false;
          var exhausted = false;
          document.addEventListener("scroll", function (event) {
            var scroller = event.target;
            if (scroller.id !== "invoice-scroll") return;
            if (scroller.scrollTop < 40) byId("invoice-jump").hidden = true;
            if (loading || exhausted || scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 200) return;
            var rows = scroller.querySelectorAll("tbody tr[data-row]");
            if (rows.length === 0) return;
            loading = true;
            var before = rows[rows.length - 1].dataset.row.slice(1);
            fetch("/dashboard/invoices?fragment=older&before=" + encodeURIComponent(before), { headers: { "X-Fragment": "1" }, credentials: "same-origin" })
              .then(function (response) { return response.ok ? response.text() : ""; })
              .then(function (html) {
                if (!html.trim()) { exhausted = true; return; }
                scroller.querySelector("tbody").insertAdjacentHTML("beforeend", html);
              })
              .catch(function () {})
              .then(function () { loading = false; });
          }, true);
        })();
        """#
}
