// Admin pages: the live "test this rule" box. Builds DOM nodes with textContent only:
// the sample post and the rule are untrusted text.
(function () {
  "use strict";
  var box = document.getElementById("rule-test");
  if (!box) return;
  var query = document.getElementById("f-query") || document.getElementById("t-query");
  var terms = document.getElementById("f-brand_terms");
  var text = document.getElementById("t-text");
  var author = document.getElementById("t-author");
  var lang = document.getElementById("t-lang");
  var reply = document.getElementById("t-reply");
  var out = document.getElementById("t-result");
  var timer = null;
  var seq = 0;
  // The page hands over its words in the agent's language; English if it did not.
  var words = {};
  try { words = JSON.parse(box.dataset.words || "{}"); } catch (e) { words = {}; }
  function t(msgid, values) {
    var text = words[msgid] || msgid;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(values[k])); });
    return text;
  }

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function highlighted(normalized, matches) {
    var p = el("p", "sample");
    p.setAttribute("dir", "auto");
    var at = 0;
    matches.forEach(function (m) {
      if (m.start < at) return;
      p.appendChild(document.createTextNode(normalized.slice(at, m.start)));
      var mark = el("mark", "", normalized.slice(m.start, m.end));
      mark.title = "term " + m.term + " at " + m.start + "–" + m.end;
      p.appendChild(mark);
      at = m.end;
    });
    p.appendChild(document.createTextNode(normalized.slice(at)));
    return p;
  }

  function show(r) {
    out.replaceChildren();
    if (r.error) {
      out.appendChild(el("p", "verdict bad", t("The rule has an error at column {column}:", { column: r.error.position }) + " " + r.error.message));
      out.appendChild(el("pre", "caret", r.error.pretty || ""));
      return;
    }
    var v = el("p", "verdict " + (r.matched ? "ok" : "no"),
      r.matched ? t("Matches") + (r.unaddressed ? " " + t("(unaddressed: names the brand without its handle)") : "") : t("Does not match"));
    out.appendChild(v);
    if (r.matches.length) {
      var ul = el("ul", "positions");
      r.matches.forEach(function (m) { ul.appendChild(el("li", "", t("“{term}” at {start}–{end}", { term: m.term, start: m.start, end: m.end }))); });
      out.appendChild(ul);
    }
    out.appendChild(el("h3", "", t("What the matcher sees")));
    out.appendChild(highlighted(r.normalized_text, r.matches));
    out.appendChild(el("p", "muted", t("Understood as:") + " " + r.canonical));
    r.warnings.forEach(function (w) { out.appendChild(el("p", "warn", "⚠ " + w)); });
  }

  function run() {
    if (!query || !query.value.trim() || !text.value.trim()) return;
    var mine = ++seq;
    fetch(box.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
      body: JSON.stringify({
        query: query.value,
        text: text.value,
        author_handle: author.value || null,
        lang: lang.value || null,
        is_reply_to_brand: reply.checked,
        brand_terms: terms ? terms.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean) : []
      })
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (r) {
      if (mine !== seq) return;  // a newer keystroke already asked
      if (!r.ok) { out.replaceChildren(el("p", "verdict bad", r.body.error || t("Could not test the rule."))); return; }
      show(r.body);
    }).catch(function () {
      out.replaceChildren(el("p", "verdict bad", t("Could not reach the server.")));
    });
  }

  function later() { clearTimeout(timer); timer = setTimeout(run, 250); }
  [query, terms, text, author, lang, reply].forEach(function (n) { if (n) n.addEventListener("input", later); });
  if (reply) reply.addEventListener("change", later);
})();
