/*! cxlens survey widget: NPS / CES / CSAT with an open-text follow-up. No dependencies.
 * <script src="https://YOUR-CXLENS/widget.js" data-key="INGEST_KEY" data-survey="SURVEY_ID" async></script>
 * API: cxlens.identify(id), cxlens.track(event), cxlens.show(surveyId); calls made before the script loaded
 * can be queued in window.cxlensQueue = [["identify", "u1"], ["track", "signup"]].
 * Targeting (by page URL and/or event) and "once per person per period" come from the survey definition;
 * the period is remembered in localStorage. Answers, skips and dismissals all post to /api/responses, so
 * denominators stay honest.
 */
(function () {
  "use strict";
  if (window.cxlens && window.cxlens._loaded) return;
  var script = document.currentScript || document.querySelector("script[data-survey][src*='widget.js']");
  var KEY = script && script.getAttribute("data-key") || "";
  var HOST = (script && script.getAttribute("data-host")) || (script ? new URL(script.src, location.href).origin : "");
  var IDS = ((script && script.getAttribute("data-survey")) || "").split(",").map(function (s) { return s.trim(); })
    .filter(Boolean);
  var store = (function () { try { localStorage.setItem("cxlens:t", "1"); return localStorage; } catch (e) { return null; } })();
  var memory = {};
  function get(k) { return store ? store.getItem(k) : memory[k]; }
  function set(k, v) { if (store) store.setItem(k, v); else memory[k] = v; }
  function uid() { return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10); }
  var api = { _loaded: true, surveys: {}, status: "loading", posted: [], distinctId: null };
  function distinctId() {
    if (api.distinctId) return api.distinctId;
    var a = get("cxlens:anon"); if (!a) { a = "anon-" + uid(); set("cxlens:anon", a); }
    return a;
  }

  function post(rows) {
    return fetch(HOST + "/api/responses", { method: "POST", keepalive: true, credentials: "omit",
      headers: { "Content-Type": "application/json", "X-Api-Key": KEY }, body: JSON.stringify(rows) })
      .then(function (r) { api.posted.push(r.status); api.status = r.ok ? "sent" : "error " + r.status; return r; })
      .catch(function (e) { api.status = "error " + e; });
  }

  function due(s) {
    var last = +get("cxlens:seen:" + s.id) || 0;
    return !last || Date.now() - last > s.once_per_days * 864e5;
  }
  function pageMatches(t) {
    if (t.url_contains && location.href.indexOf(t.url_contains) < 0) return false;
    if (t.url_regex) { try { if (!new RegExp(t.url_regex).test(location.href)) return false; } catch (e) { return false; } }
    return true;
  }

  var css = ".cxw{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:360px;max-width:calc(100vw - 40px);" +
    "background:#fff;color:#1d2433;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.18);padding:16px 18px;" +
    "font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}.cxw p{margin:0 24px 12px 0;font-weight:600}" +
    ".cxw .x{position:absolute;top:8px;right:10px;border:0;background:none;font-size:20px;cursor:pointer;color:#6b7385}" +
    ".cxw .sc{display:flex;gap:4px}.cxw .sc button{flex:1;padding:8px 0;border:1px solid #d5dbe6;border-radius:6px;" +
    "background:#f6f8fb;cursor:pointer;font:inherit}.cxw .sc button:hover{background:#2f6fdf;color:#fff}" +
    ".cxw .lb{display:flex;justify-content:space-between;color:#6b7385;font-size:11px;margin-top:4px}" +
    ".cxw textarea{width:100%;min-height:70px;box-sizing:border-box;border:1px solid #d5dbe6;border-radius:6px;padding:6px;font:inherit}" +
    ".cxw .act{display:flex;gap:8px;justify-content:flex-end;margin-top:8px}.cxw .act button{padding:6px 12px;border-radius:6px;" +
    "border:0;cursor:pointer;font:inherit}.cxw .send{background:#2f6fdf;color:#fff}";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function show(s) {
    if (document.querySelector(".cxw")) return;
    if (!document.getElementById("cxw-css")) { var st = el("style", { id: "cxw-css" }); st.textContent = css; document.head.appendChild(st); }
    set("cxlens:seen:" + s.id, String(Date.now()));
    var rid = uid(), box = el("div", { "class": "cxw", role: "dialog", "aria-label": "survey", "data-survey": s.id });
    var base = { survey: s.id, response_id: rid, distinct_id: distinctId(), touchpoint: location.pathname,
      properties: { url: location.href, widget: "cxlens" } };
    function row(extra) { var r = {}, k; for (k in base) r[k] = base[k]; for (k in extra) r[k] = extra[k];
      r.timestamp = new Date().toISOString(); return r; }
    var score = { question: s.question_type, question_type: s.question_type, scale_min: s.scale_min, scale_max: s.scale_max };
    function close() { if (box.parentNode) box.parentNode.removeChild(box); }
    var x = el("button", { "class": "x", "aria-label": "close" }, "\u00d7");
    x.onclick = function () { close(); post([row(Object.assign({ status: "dismissed" }, score))]); };
    box.appendChild(x);
    box.appendChild(el("p", {}, s.question));
    var sc = el("div", { "class": "sc" });
    for (var v = s.scale_min; v <= s.scale_max; v++) {
      (function (v) {
        var b = el("button", { type: "button", "data-score": String(v) }, String(v));
        b.onclick = function () { answered(v); };
        sc.appendChild(b);
      })(v);
    }
    box.appendChild(sc);
    var lb = el("div", { "class": "lb" });
    var ends = { nps: ["Not at all likely", "Extremely likely"], ces: ["Very difficult", "Very easy"],
      csat: ["Very dissatisfied", "Very satisfied"] }[s.question_type] || ["", ""];
    lb.appendChild(el("span", {}, s.low_label || ends[0]));
    lb.appendChild(el("span", {}, s.high_label || ends[1]));
    box.appendChild(lb);
    function answered(v) {
      var first = row(Object.assign({ status: "answered", score: v }, score));
      if (!s.follow_up) { post([first]); thanks(); return; }
      box.innerHTML = ""; box.appendChild(x);
      x.onclick = function () { close(); post([first, row({ question: "follow_up", question_type: "text", status: "skipped" })]); };
      box.appendChild(el("p", {}, s.follow_up));
      var ta = el("textarea", { "aria-label": "your answer", maxlength: "2000" });
      box.appendChild(ta);
      var act = el("div", { "class": "act" }), skip = el("button", { type: "button" }, "Skip"),
        send = el("button", { type: "button", "class": "send" }, "Send");
      skip.onclick = function () { post([first, row({ question: "follow_up", question_type: "text", status: "skipped" })]); thanks(); };
      send.onclick = function () {
        var t = ta.value.trim();
        post([first, row(t ? { question: "follow_up", question_type: "text", status: "answered", text: t }
          : { question: "follow_up", question_type: "text", status: "skipped" })]); thanks();
      };
      act.appendChild(skip); act.appendChild(send); box.appendChild(act);
    }
    function thanks() { box.innerHTML = ""; box.appendChild(el("p", {}, "Thank you!")); setTimeout(close, 1500); }
    document.body.appendChild(box);
    api.status = "shown";
  }

  function consider(s, event) {
    if (!s || !s.active || !due(s) || !pageMatches(s.targeting || {})) return;
    var want = (s.targeting || {}).event;
    if (want && want !== event) return;
    show(s);
  }

  api.identify = function (id) { api.distinctId = String(id); };
  api.track = function (event) { for (var k in api.surveys) consider(api.surveys[k], event); };
  api.show = function (id) { if (api.surveys[id]) show(api.surveys[id]); };
  api.reset = function () { for (var k in api.surveys) set("cxlens:seen:" + k, ""); };
  window.cxlens = api;
  (window.cxlensQueue || []).forEach(function (c) { if (c[0] === "identify") api.identify(c[1]); });

  Promise.all(IDS.map(function (id) {
    return fetch(HOST + "/api/surveys/" + encodeURIComponent(id), { headers: { "X-Api-Key": KEY }, credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (s) { if (s) api.surveys[s.id] = s; })
      .catch(function () { return null; });
  })).then(function () {
    api.status = "ready";
    for (var k in api.surveys) consider(api.surveys[k], null);
    (window.cxlensQueue || []).forEach(function (c) { if (c[0] === "track") api.track(c[1]); });
  });
})();
