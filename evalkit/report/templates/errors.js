/* Filters and sorting for the error report. It only hides, shows and reorders rows that the server
   rendered; it never builds HTML from data. State lives in the URL fragment, e.g.
   #system=seed-mt&category=mistranslation&severity=major&sort=chrf:asc */
(function () {
  "use strict";
  var table = document.getElementById("segments");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var buttons = Array.prototype.slice.call(table.querySelectorAll("button[data-sort]"));
  var selects = {};
  ["system", "category", "severity"].forEach(function (name) {
    var el = document.getElementById("filter-" + name);
    if (el) { selects[name] = el; }
  });
  var shown = document.getElementById("shown-count");
  var sort = { key: null, desc: false };

  function chosen(name) { return selects[name] ? selects[name].value : ""; }

  function visible(row) {
    var sys = chosen("system"), cat = chosen("category"), sev = chosen("severity");
    if (sys && row.getAttribute("data-system") !== sys) { return false; }
    if (!cat && !sev) { return true; }
    var errs = (row.getAttribute("data-errs") || "").split(" ");
    return errs.some(function (pair) {
      var p = pair.split(":");
      return p.length === 2 && (!cat || p[0] === cat) && (!sev || p[1] === sev);
    });
  }

  function filter() {
    var n = 0;
    rows.forEach(function (row) {
      var show = visible(row);
      row.hidden = !show;
      if (show) { n += 1; }
    });
    if (shown) { shown.textContent = String(n); }
  }

  function value(row, key) {
    var v = row.getAttribute("data-k-" + key);
    return v === null ? NaN : parseFloat(v);
  }

  function order(key, desc) {
    var first = buttons.length ? buttons[0].getAttribute("data-sort") : key;
    var sorted = rows.slice().sort(function (a, b) {
      var x = value(a, key), y = value(b, key);
      if (isNaN(x) !== isNaN(y)) { return isNaN(x) ? 1 : -1; }
      if (!isNaN(x) && x !== y) { return desc ? y - x : x - y; }
      return value(a, first) - value(b, first);
    });
    sorted.forEach(function (row) { body.appendChild(row); });
    sort.key = key;
    sort.desc = desc;
    buttons.forEach(function (b) {
      var th = b.parentNode;
      if (b.getAttribute("data-sort") === key) {
        th.setAttribute("aria-sort", desc ? "descending" : "ascending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
  }

  function button(key) {
    for (var i = 0; i < buttons.length; i += 1) {
      if (buttons[i].getAttribute("data-sort") === key) { return buttons[i]; }
    }
    return null;
  }

  function readHash() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    Object.keys(selects).forEach(function (name) {
      var wanted = params.get(name) || "";
      var known = Array.prototype.some.call(selects[name].options, function (o) { return o.value === wanted; });
      selects[name].value = known ? wanted : "";
    });
    var spec = (params.get("sort") || "").split(":");
    var b = button(spec[0]);
    if (b) {
      var dir = spec[1] === "asc" || spec[1] === "desc" ? spec[1] : b.getAttribute("data-worst");
      order(spec[0], dir === "desc");
    }
    filter();
  }

  function writeHash() {
    var params = new URLSearchParams();
    Object.keys(selects).forEach(function (name) {
      if (selects[name].value) { params.set(name, selects[name].value); }
    });
    if (sort.key) { params.set("sort", sort.key + ":" + (sort.desc ? "desc" : "asc")); }
    var h = params.toString();
    try {
      window.history.replaceState(null, "", h ? "#" + h : window.location.pathname + window.location.search);
    } catch (e) {
      /* some file:// contexts refuse history updates; filtering still works */
    }
  }

  Object.keys(selects).forEach(function (name) {
    selects[name].addEventListener("change", function () { filter(); writeHash(); });
  });
  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      var key = b.getAttribute("data-sort");
      var desc = sort.key === key ? !sort.desc : b.getAttribute("data-worst") === "desc";
      order(key, desc);
      writeHash();
    });
  });
  window.addEventListener("hashchange", readHash);
  readHash();
  document.documentElement.setAttribute("data-report-ready", "1");
}());
