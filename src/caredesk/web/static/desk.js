// Keyboard navigation in the inbox: j/k move, Enter opens. Progressive: the page works without it.
(function () {
  const rows = Array.from(document.querySelectorAll('#rows .row'));
  if (!rows.length) return;
  let at = -1;
  function select(i) {
    if (at >= 0) rows[at].classList.remove('selected');
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add('selected');
    rows[at].querySelector('a').focus();
  }
  document.addEventListener('keydown', function (e) {
    if (e.target.matches('input, textarea, select')) return;
    if (e.key === 'j') select(at + 1);
    else if (e.key === 'k') select(at - 1);
    else if (e.key === 'Enter' && at >= 0) window.location = rows[at].dataset.href;
  });
})();
