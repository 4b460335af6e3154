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
  // A section someone is typing into, or whose fields they have changed, is not replaced under
  // them: its refresh waits until they leave the form (or submit it, which loads a new page).
  function editing(section) {
    var active = document.activeElement;
    if (active && active !== body && section.contains(active) && active.matches("input, textarea, select")) return true;
    return Array.prototype.some.call(section.querySelectorAll("input, textarea, select"), function (field) {
      if (field.type === "hidden") return false;
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      if (field.tagName === "SELECT") return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
      return field.value !== field.defaultValue;
    });
  }
  var held = {};
  function release() {
    Object.keys(held).forEach(function (name) {
      var section = held[name];
      if (editing(section)) return;
      delete held[name];
      section.removeAttribute("data-held");
      run(section);
    });
    if (status && status.dataset.state === "held" && !Object.keys(held).length) setStatus("live", "Live · updates as they happen");
  }
  ["focusout", "input", "change", "reset"].forEach(function (type) {
    // After the event has done its work (focus moved, value changed).
    document.addEventListener(type, function () { setTimeout(release, 0); });
  });
  // One request per section at a time: changes that arrive meanwhile cause one more, not one each.
  var inflight = {};
  function run(section) {
    var name = section.dataset.fragment;
    if (editing(section)) {
      held[name] = section;
      section.setAttribute("data-held", "");
      setStatus("held", "Live · updates to this part wait while you edit");
      return;
    }
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
      if (Object.keys(held).length) setStatus("held", "Live · updates to this part wait while you edit");
      else setStatus("live", "Live · last change " + time(new Date()));
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