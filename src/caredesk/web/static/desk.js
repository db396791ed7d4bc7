// Caredesk in the browser. Progressive: every page works without this file; it adds keys,
// live updates (Server-Sent Events), presence, the canned `/` menu, suggestions and live lint.
// Untrusted text is only ever set with textContent.
(function () {
  'use strict';
  const csrf = document.body.dataset.csrf || '';

  function post(url, fields) {
    const body = new FormData();
    body.append('csrf_token', csrf);
    Object.keys(fields || {}).forEach(function (k) { body.append(k, fields[k]); });
    return fetch(url, { method: 'POST', body: body, credentials: 'same-origin' });
  }
  function typingInField(e) {
    return e.target.closest && e.target.closest('input, textarea, select, [contenteditable]');
  }

  // The language picker submits itself when JS is on.
  document.querySelectorAll('select[data-autosubmit]').forEach(function (s) {
    s.addEventListener('change', function () { s.form.submit(); });
  });
  document.querySelectorAll('.js-hide').forEach(function (el) { el.hidden = true; });

  let live = null;
  function events() {
    if (!live && window.EventSource) {
      // A conversation page asks for what changed since its render too (closes the gap
      // between rendering and the stream opening).
      const c = document.getElementById('conversation');
      const url = c && c.dataset.mark ? '/live/events?conversation=' + encodeURIComponent(c.dataset.conversation) +
        '&since=' + encodeURIComponent(c.dataset.mark) : '/live/events';
      live = new EventSource(url);
    }
    return live;
  }

  // ------------------------------------------------------------------ inbox
  const inbox = document.getElementById('inbox');
  if (inbox) {
    // On a phone the queues are a sideways strip: bring the current one into view.
    const activeQueue = inbox.querySelector('.queues .active');
    if (activeQueue && activeQueue.scrollIntoView) activeQueue.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    let at = -1;
    const rows = function () { return Array.from(document.querySelectorAll('#rows .row')); };
    const select = function (i, focus) {
      const all = rows();
      if (!all.length) return;
      all.forEach(function (r) { r.classList.remove('selected'); });
      at = Math.max(0, Math.min(all.length - 1, i));
      all[at].classList.add('selected');
      if (focus !== false) all[at].querySelector('a').focus();
    };
    const current = function () { return rows()[at]; };
    document.addEventListener('keydown', function (e) {
      if (typingInField(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'j') select(at + 1);
      else if (e.key === 'k') select(at - 1);
      else if (e.key === 'Enter' && current()) window.location = current().dataset.href;
      else if (e.key === 'r' && current()) window.location = current().dataset.href + '#reply';
      else if (e.key === 'e' && current()) window.location = current().dataset.href + '#close';
      else if (e.key === '/') { e.preventDefault(); document.getElementById('q').focus(); }
    });
    // Live: something changed in one of my workspaces -> re-fetch the list and the counts.
    let pending = null;
    const refresh = function () {
      const url = new URL(window.location.href);
      url.searchParams.set('partial', '1');
      fetch(url, { credentials: 'same-origin' }).then(function (r) { return r.text(); }).then(function (html) {
        const doc = new DOMParser().parseFromString(html, 'text/html');
        const q = doc.getElementById('live-queues'), l = doc.getElementById('live-rows');
        if (!q || !l) return;
        const selectedId = current() ? current().dataset.id : null;
        document.getElementById('queues').replaceChildren(q.content.cloneNode(true));
        document.getElementById('live-list').replaceChildren(l.content.cloneNode(true));
        if (selectedId) {
          const i = rows().findIndex(function (r) { return r.dataset.id === selectedId; });
          if (i >= 0) select(i, false);
        }
        inbox.dataset.refreshed = String(Date.now());
      });
    };
    const src = events();
    if (src) src.addEventListener('change', function () {
      clearTimeout(pending);
      pending = setTimeout(refresh, 600);
    });
  }

  // ------------------------------------------------------------------ conversation
  const conv = document.getElementById('conversation');
  if (conv) {
    const id = conv.dataset.conversation;
    const text = document.getElementById('reply-text');
    const form = document.getElementById('composer');

    // Presence: "Amira is viewing / typing" for everyone else on this conversation.
    const seen = {};
    const bar = document.getElementById('presence');
    const paint = function () {
      const now = Date.now();
      bar.replaceChildren();
      Object.keys(seen).forEach(function (k) {
        const v = seen[k];
        if (v.until < now) { delete seen[k]; return; }
        const span = document.createElement('span');
        span.className = 'viewer viewer-' + v.state;
        const tpl = v.state === 'typing' ? conv.dataset.typing : conv.dataset.viewing;
        span.textContent = tpl.replace('{name}', v.name);
        bar.appendChild(span);
      });
    };
    bar.querySelectorAll('.viewer').forEach(function (el) { el.remove(); });
    const announce = function (state) {
      post('/live/presence', { conversation_id: id, state: state }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (data) {
        if (!data) return;
        data.viewers.forEach(function (v) {
          if (String(v.agent_id) !== String(document.body.dataset.me)) {
            seen[v.agent_id] = { name: v.name, state: v.state, until: Date.now() + 45000 };
          }
        });
        paint();
      });
    };
    announce('viewing');
    setInterval(function () { announce('viewing'); paint(); }, 20000);
    let lastTyping = 0;
    if (text) text.addEventListener('input', function () {
      if (Date.now() - lastTyping > 4000) { lastTyping = Date.now(); announce('typing'); }
    });
    window.addEventListener('pagehide', function () {
      const body = new FormData();
      body.append('csrf_token', csrf); body.append('conversation_id', id); body.append('state', 'left');
      navigator.sendBeacon('/live/presence', body);
    });
    const src = events();
    if (src) {
      src.addEventListener('presence', function (e) {
        const n = JSON.parse(e.data);
        if (String(n.conversation_id) !== id) return;
        if (n.state === 'left') delete seen[n.agent_id];
        else seen[n.agent_id] = { name: n.name, state: n.state, until: Date.now() + (n.state === 'typing' ? 8000 : 45000) };
        paint();
      });
      // "This conversation changed" only for what someone or something else did after this page
      // was rendered: not events the page already shows (id <= data-mark), not my own actions,
      // not timer marks or views that change nothing on it. Delivery of a reply shown here
      // updates its badge in place.
      const mark = Number(conv.dataset.mark || 0);
      const QUIET = ['conversation.viewed', 'canned.used', 'sla.near_breach', 'sla.breached', 'sla.applied'];
      src.addEventListener('change', function (e) {
        const n = JSON.parse(e.data);
        if (String(n.conversation_id) !== id || (form && form.dataset.submitting)) return;
        if (n.id && n.id <= mark) return;
        if (n.actor_agent_id && String(n.actor_agent_id) === String(document.body.dataset.me)) return;
        if (QUIET.indexOf(n.event) >= 0) return;
        if ((n.event === 'message.sent' || n.event === 'message.failed') && n.message_id) {
          const badge = conv.querySelector('[data-message="' + Number(n.message_id) + '"] .sent');
          if (badge) {
            const state = n.event === 'message.sent' ? 'sent' : 'failed';
            badge.className = 'sent sent-' + state;
            badge.textContent = conv.dataset[state];
            return;
          }
        }
        document.getElementById('stale').hidden = false;
        conv.dataset.staleBy = n.event;
      });
    }
    if (form) form.addEventListener('submit', function () { form.dataset.submitting = '1'; });

    // Live guideline check of the draft.
    const lintBox = document.getElementById('lint');
    let lintTimer = null;
    const lint = function () {
      const priv = form.querySelector('input[name=private]');
      post(form.dataset.lint, { text: text.value, private: priv && priv.checked ? '1' : '' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          const ul = document.createElement('ul');
          ul.className = 'problems';
          data.problems.forEach(function (p) {
            const li = document.createElement('li');
            li.className = 'problem-' + p.severity;
            li.textContent = p.message;
            ul.appendChild(li);
          });
          lintBox.replaceChildren(data.problems.length ? ul : '');
        });
    };

    // Canned responses: type `/` then a shortcut; arrows + Enter or click to insert.
    const menu = document.getElementById('canned-menu');
    let choice = -1;
    const slashWord = function () {
      const upto = text.value.slice(0, text.selectionStart);
      const m = upto.match(/(^|\s)\/([\w-]*)$/);
      return m ? { start: upto.length - m[2].length - 1, word: m[2].toLowerCase() } : null;
    };
    const visible = function () {
      return Array.from(menu.children).filter(function (li) { return !li.hidden; });
    };
    const mark = function (i) {
      const items = visible();
      items.forEach(function (li) { li.classList.remove('active'); li.setAttribute('aria-selected', 'false'); });
      if (!items.length) return;
      choice = (i + items.length) % items.length;
      items[choice].classList.add('active');
      items[choice].setAttribute('aria-selected', 'true');
    };
    const insert = function (li) {
      const sw = slashWord();
      post(form.dataset.canned + li.dataset.id, {}).then(function (r) { return r.json(); }).then(function (data) {
        if (!data.text) return;
        const start = sw ? sw.start : text.selectionStart;
        text.value = text.value.slice(0, start) + data.text + text.value.slice(text.selectionStart);
        menu.hidden = true;
        text.focus();
        lint();
        if (data.warnings && data.warnings.length) {
          const p = document.createElement('p');
          p.className = 'problem-warning';
          p.textContent = data.warnings.join(' ');
          lintBox.appendChild(p);
        }
      });
    };
    if (text && menu) {
      text.addEventListener('input', function () {
        const sw = slashWord();
        if (!sw || !menu.children.length) { menu.hidden = true; } else {
          Array.from(menu.children).forEach(function (li) {
            li.hidden = li.dataset.shortcut.toLowerCase().replace(/^\//, '').indexOf(sw.word) !== 0;
          });
          menu.hidden = visible().length === 0;
          mark(0);
        }
        clearTimeout(lintTimer);
        lintTimer = setTimeout(lint, 500);
      });
      text.addEventListener('keydown', function (e) {
        if (menu.hidden) return;
        if (e.key === 'ArrowDown') { e.preventDefault(); mark(choice + 1); }
        else if (e.key === 'ArrowUp') { e.preventDefault(); mark(choice - 1); }
        else if (e.key === 'Enter' || e.key === 'Tab') {
          const items = visible();
          if (items[choice]) { e.preventDefault(); insert(items[choice]); }
        } else if (e.key === 'Escape') { menu.hidden = true; }
      });
      menu.addEventListener('mousedown', function (e) {
        const li = e.target.closest('li');
        if (li) { e.preventDefault(); insert(li); }
      });
    }

    // @mentions in the note: type @ and a few letters, pick a colleague with Enter or a click.
    const note = document.getElementById('note-body');
    const people = document.getElementById('mention-menu');
    if (note && people) {
      let pick = -1;
      const atWord = function () {
        const upto = note.value.slice(0, note.selectionStart);
        const m = upto.match(/(^|\s)@([\w.-]*)$/);
        return m ? { start: upto.length - m[2].length, word: m[2].toLowerCase() } : null;
      };
      const shown = function () { return Array.from(people.children).filter(function (li) { return !li.hidden; }); };
      const hilite = function (i) {
        const items = shown();
        items.forEach(function (li) { li.classList.remove('active'); });
        if (!items.length) return;
        pick = (i + items.length) % items.length;
        items[pick].classList.add('active');
      };
      const take = function (li) {
        const aw = atWord();
        if (!aw) return;
        const rest = note.value.slice(note.selectionStart);
        note.value = note.value.slice(0, aw.start) + li.dataset.handle + ' ' + rest;
        people.hidden = true;
        note.focus();
      };
      note.addEventListener('input', function () {
        const aw = atWord();
        if (!aw) { people.hidden = true; return; }
        Array.from(people.children).forEach(function (li) {
          li.hidden = li.dataset.handle.indexOf(aw.word) !== 0 && li.dataset.name.toLowerCase().indexOf(aw.word) !== 0;
        });
        people.hidden = shown().length === 0;
        hilite(0);
      });
      note.addEventListener('keydown', function (e) {
        if (people.hidden) return;
        if (e.key === 'ArrowDown') { e.preventDefault(); hilite(pick + 1); }
        else if (e.key === 'ArrowUp') { e.preventDefault(); hilite(pick - 1); }
        else if (e.key === 'Enter' || e.key === 'Tab') {
          const items = shown();
          if (items[pick]) { e.preventDefault(); take(items[pick]); }
        } else if (e.key === 'Escape') { people.hidden = true; }
      });
      people.addEventListener('mousedown', function (e) {
        const li = e.target.closest('li');
        if (li) { e.preventDefault(); take(li); }
      });
    }

    // Suggested replies, fetched after the page is up.
    const sug = document.getElementById('suggestions');
    if (sug && text) {
      fetch(sug.dataset.src, { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !data.suggestions.length) return;
          const h = document.createElement('summary');
          h.textContent = sug.dataset.title + ' (' + data.suggestions.length + ')';
          const ul = document.createElement('ul');
          data.suggestions.forEach(function (s) {
            const li = document.createElement('li');
            const b = document.createElement('button');
            b.type = 'button';
            b.className = 'small';
            b.textContent = sug.dataset.use;
            const t = document.createElement('span');
            t.dir = 'auto';
            t.textContent = s.text.length > 120 ? s.text.slice(0, 120) + '…' : s.text;
            const why = document.createElement('small');
            why.className = 'muted';
            why.textContent = s.why.join('; ');
            b.addEventListener('click', function () {
              if (s.canned_id) { insert({ dataset: { id: String(s.canned_id) } }); }
              else { text.value = s.text; text.focus(); lint(); }
            });
            li.append(b, ' ', t, ' ', why);
            ul.appendChild(li);
          });
          // Open beside the composer on a desk; folded on a phone, where space is short.
          const box = document.createElement('details');
          box.open = window.innerWidth > 760;
          box.append(h, ul);
          sug.replaceChildren(box);
          sug.hidden = false;
        });
    }

    // The snooze time matters only when moving to "snoozed".
    const statusTo = document.getElementById('status-to');
    const snooze = document.querySelector('input[name=snooze_until]');
    if (statusTo && snooze) {
      const sync = function () { snooze.closest('label').hidden = statusTo.value !== 'snoozed'; };
      statusTo.addEventListener('change', sync);
      sync();
    }

    // r: reply, e: close, from anywhere on the page; #reply / #close arrive from the inbox keys.
    const openClose = function () {
      const d = document.getElementById('close');
      if (d) { d.open = true; d.querySelector('textarea').focus(); }
    };
    document.addEventListener('keydown', function (e) {
      if (typingInField(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'r' && text) { e.preventDefault(); text.focus(); }
      else if (e.key === 'e') { e.preventDefault(); openClose(); }
    });
    if (window.location.hash === '#reply' && text) text.focus();
    if (window.location.hash === '#close') openClose();
  }
})();
