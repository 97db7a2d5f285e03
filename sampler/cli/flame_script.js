// The interactive part of podprof's flame graphs, embedded in every SVG (and HTML page) that
// `podprof flamegraph` and `podprof diff` write. The picture is complete without it (an SVG
// shown through <img> runs no script); with it: click a frame to zoom into it, click "all" or
// "Reset zoom" to zoom out, "Search" (or Ctrl-F, "/") highlights the frames whose name matches a
// regular expression and shows their share of the total, Escape clears the search. Hovering a
// frame shows its details at the bottom.
//
// Every frame is a <g class="f"> holding a <title> (first line: the frame's name), a <rect> and
// a <text>, with data-o (offset from the left, in sample units), data-v (value) and data-d
// (depth, 0 = the root "all"). Layout numbers come from the <svg> element's data-* attributes,
// so this script and the C writer share one set of constants.
(function () {
  "use strict";
  var svg = document.getElementById("podprof-flame");
  if (!svg || svg.getAttribute("data-ready")) {
    return;
  }
  function num(name) {
    return Number(svg.getAttribute(name));
  }
  var width = num("data-frames-width");
  var pad = num("data-pad");
  var charWidth = num("data-char-width");
  var minWidth = num("data-min-width");
  var total = num("data-total");
  function el(id) {
    return document.getElementById("podprof-" + id);
  }
  var details = el("details");
  var matched = el("matched");
  var unzoom = el("unzoom");
  var searchButton = el("search");
  var searchInput = el("search-input");

  var frames = [];
  var nodes = svg.querySelectorAll("g.f");
  for (var i = 0; i < nodes.length; i++) {
    var g = nodes[i];
    var info = g.querySelector("title").textContent;
    frames.push({
      g: g,
      rect: g.querySelector("rect"),
      label: g.querySelector("text"),
      o: Number(g.getAttribute("data-o")),
      v: Number(g.getAttribute("data-v")),
      d: Number(g.getAttribute("data-d")),
      name: info.split("\n")[0],
      info: info.replace(/\n/g, " | ")
    });
  }

  // The same rule as the C writer: a label is cut to the characters that fit, ending in "..".
  function fit(name, w) {
    var n = Math.floor((w - 6) / charWidth);
    if (n < 3) {
      return "";
    }
    return name.length <= n ? name : name.substring(0, n - 2) + "..";
  }

  // Boxes wider than 1.5 px leave a 1 px gap to their right neighbour, as in the C writer.
  function place(f, x, w) {
    f.rect.setAttribute("x", (pad + x).toFixed(2));
    f.rect.setAttribute("width", (w > 1.5 ? w - 1 : w).toFixed(2));
    f.label.setAttribute("x", (pad + x + 3).toFixed(2));
    f.label.textContent = fit(f.name, w);
  }

  var zoomed = null;
  function zoom(z) {
    zoomed = z && z.d > 0 ? z : null;
    var zo = zoomed ? zoomed.o : 0;
    var zv = zoomed ? zoomed.v : total;
    var zd = zoomed ? zoomed.d : 0;
    var scale = width / zv;
    frames.forEach(function (f) {
      var show;
      var ancestor = false;
      if (f.d < zd) {
        show = ancestor = f.o <= zo && f.o + f.v >= zo + zv;
        if (show) {
          place(f, 0, width);
        }
      } else {
        show = f.o >= zo && f.o + f.v <= zo + zv && f.v * scale >= minWidth;
        if (show) {
          place(f, (f.o - zo) * scale, f.v * scale);
        }
      }
      f.g.classList.toggle("hide", !show);
      f.g.classList.toggle("anc", ancestor);
    });
    unzoom.classList.toggle("hide", !zoomed);
  }

  var searching = null;
  function search(re) {
    searching = re;
    var hits = [];
    frames.forEach(function (f) {
      var hit = !!re && f.d > 0 && re.test(f.name);
      f.g.classList.toggle("hl", hit);
      if (hit) {
        hits.push(f);
      }
    });
    // Nested matches (a recursive function) count once: the union of their spans.
    hits.sort(function (a, b) {
      return a.o - b.o;
    });
    var sum = 0;
    var end = -Infinity;
    hits.forEach(function (f) {
      var start = Math.max(f.o, end);
      if (f.o + f.v > start) {
        sum += f.o + f.v - start;
        end = f.o + f.v;
      }
    });
    matched.textContent = re ? "Matched: " + (total > 0 ? (100 * sum) / total : 0).toFixed(2) +
      "% (" + hits.length + (hits.length === 1 ? " frame)" : " frames)") : "";
    searchButton.textContent = re ? "Reset search" : "Search";
  }

  function searchText(text) {
    if (!text) {
      search(null);
      return;
    }
    try {
      search(new RegExp(text));
    } catch (e) {
      matched.textContent = "Invalid regular expression";
    }
  }

  function askSearch() {
    if (searching) {
      search(null);
      if (searchInput) {
        searchInput.value = "";
      }
      return;
    }
    if (searchInput) {
      searchInput.focus();
      return;
    }
    var text = window.prompt("Search frames (regular expression)", "");
    if (text) {
      searchText(text);
    }
  }

  frames.forEach(function (f) {
    f.g.addEventListener("click", function () {
      zoom(f);
    });
    f.g.addEventListener("mouseover", function () {
      details.textContent = f.info;
    });
    f.g.addEventListener("mouseout", function () {
      details.textContent = " ";
    });
  });
  unzoom.addEventListener("click", function () {
    zoom(null);
  });
  searchButton.addEventListener("click", askSearch);
  if (searchInput) {
    searchInput.addEventListener("input", function () {
      searchText(searchInput.value);
    });
  }
  window.addEventListener("keydown", function (e) {
    if (e.target === searchInput) {
      return;
    }
    if ((e.key === "f" && (e.ctrlKey || e.metaKey)) || e.key === "/") {
      e.preventDefault();
      if (searching) {
        search(null);
      }
      askSearch();
    } else if (e.key === "Escape") {
      search(null);
    }
  });
  svg.setAttribute("data-ready", "1");
}());
