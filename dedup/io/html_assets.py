"""The style sheet and script of the HTML report, inline so the page needs nothing from a network.

The script only reads the page's own JSON (the id index) and writes with `textContent`, never
`innerHTML`, so no text from the input can become markup.
"""

from __future__ import annotations

# ruff: noqa: E501 - style and script lines are as a browser reads them

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto 4em;max-width:1280px;padding:0 16px;color:#222}
h1{font-size:1.5em;margin:.8em 0 .2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
nav{padding:6px 0;border-bottom:1px solid #eee}
nav a{margin-right:12px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;vertical-align:top;text-align:left}
th{background:#f5f5f5}.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37;font-weight:bold}.bad{color:#c00;font-weight:bold}.note{color:#555;font-size:13px}
.bar{display:inline-block;height:10px;background:#6a8dd6;vertical-align:middle}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:4px 0 18px}
.side{border:1px solid #ddd;padding:0 8px 8px;max-height:24em;overflow:auto;font-size:13px}
.side h4{margin:0 -8px 6px;padding:4px 8px;position:sticky;top:0;font-size:13px}
.dropped h4{background:#ffe9e7}.kept h4{background:#e6f6ea}
del{background:#ffcdc9;text-decoration:none}ins{background:#bdf0c9;text-decoration:none}
details{scroll-margin-top:8px}
details.cluster{border:1px solid #ddd;border-radius:4px;margin:6px 0;padding:4px 10px}
details.cluster>summary{cursor:pointer;font-weight:600}
details.cluster[open]>summary{margin-bottom:6px}
.evidence{font-size:13px;margin-top:8px}.evidence b{font-family:ui-monospace,monospace}
code,.id{font-family:ui-monospace,monospace;font-size:13px;word-break:break-all}
#search{font-size:15px;padding:4px 8px;width:28em}#found{margin:8px 0;white-space:pre-wrap}
.raw{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;word-break:break-all;color:#444}
"""

SCRIPT = """
(function () {
  const data = JSON.parse(document.getElementById('index').textContent);
  let index = null;
  function build() {
    index = new Map();
    for (const id of data.kept) index.set(id, {status: 'kept'});
    for (const r of data.dropped) index.set(r[0], {status: 'dropped', of: r[1], by: data.rules[r[2]], sim: r[3], cluster: r.length > 4 ? r[4] : r[1]});
    for (const r of data.rejected) index.set(r[0], {status: 'rejected', group: r[1]});
  }
  function line(parent, text, href) {
    const el = document.createElement(href ? 'a' : 'div');
    el.textContent = text;
    if (href) { el.href = href; el.style.display = 'block'; }
    parent.appendChild(el);
    return el;
  }
  function show(query) {
    const out = document.getElementById('found');
    out.textContent = '';
    if (!query) return;
    if (index === null) build();
    const hit = index.get(query);
    if (hit === undefined) {
      const near = [];
      for (const id of index.keys()) {
        if (id.includes(query)) { near.push(id); if (near.length === 10) break; }
      }
      line(out, near.length ? 'No record has this id exactly; ids holding it:' : 'No record has this id' + (data.complete ? '.' : ' among the ids on this page.'));
      for (const id of near) line(out, id, '#id=' + encodeURIComponent(id));
      return;
    }
    const cmd = 'dedup explain ' + data.folder + ' ' + query;
    if (hit.status === 'kept') {
      const anchor = data.anchors[query];
      line(out, query + ': kept' + (anchor ? ' (its cluster is shown below)' : ' (a cluster of one, or one not shown on this page)'));
      if (anchor) line(out, 'open its cluster', '#' + anchor);
    } else if (hit.status === 'dropped') {
      line(out, query + ': dropped as a duplicate of ' + hit.of + ' (matched_by ' + hit.by + ', similarity ' + hit.sim.toFixed(3) + ')');
      const anchor = data.anchors[hit.cluster];
      if (anchor) line(out, 'open its cluster', '#' + anchor);
    } else {
      line(out, query + ': rejected: ' + data.groups[hit.group]);
      line(out, 'see its group of rejects', '#r' + hit.group);
    }
    line(out, 'the whole story: ' + cmd);
  }
  function follow() {
    const hash = decodeURIComponent(location.hash.slice(1));
    if (hash.startsWith('id=')) {
      const box = document.getElementById('search');
      box.value = hash.slice(3);
      show(box.value);
      return;
    }
    const target = hash && document.getElementById(hash);
    if (target && target.tagName === 'DETAILS') { target.open = true; target.scrollIntoView(); }
  }
  document.getElementById('search').addEventListener('input', function (e) { show(e.target.value.trim()); });
  window.addEventListener('hashchange', follow);
  follow();
})();
"""
