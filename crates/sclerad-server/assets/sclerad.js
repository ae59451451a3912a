// sclerad's page script. Every action of the pages also works without it,
// as plain links and forms; this makes the reading forms quick: choosing a
// hand site on the drawing without reloading, keyboard shortcuts, and on a
// reader's form, saving as the reader marks (with the reading's version: a
// save made elsewhere meanwhile is shown as a conflict, never overwritten).
(function () {
  "use strict";
  var form = document.querySelector("form.reading");
  if (!form) {
    return;
  }
  // The lesions in the format's order: code -> {label, letter}.
  var names = {};
  var lesionOrder = [];
  var namesEl = document.getElementById("lesion-names");
  if (namesEl) {
    try {
      JSON.parse(namesEl.textContent).forEach(function (l) {
        names[l.code] = l;
        lesionOrder.push(l.code);
      });
    } catch (e) {
      names = {};
      lesionOrder = [];
    }
  }
  var statusEl = form.querySelector("[data-autosave-status]");
  var csrfInput = form.querySelector("input[name=csrf]");
  var versionInput = form.querySelector("input[name=version]");
  var autosaveUrl = form.getAttribute("data-autosave");
  var help = document.querySelector("details.shortcuts");
  var sideTitle = { right: "Right hand", left: "Left hand" };

  function say(text, kind) {
    if (statusEl) {
      statusEl.textContent = text;
      statusEl.className = "autosave-status" + (kind ? " " + kind : "");
    }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  // ---- the hand form: drawing, chosen site, the rest as hidden fields ----
  var panel = form.querySelector("[data-site-panel]");
  var currentInput = form.querySelector("input[data-current-site]");
  var sites = Array.prototype.slice.call(form.querySelectorAll("a.site[data-side][data-site]"));
  var lastLesion = null;

  function keyOf(site) {
    return site.getAttribute("data-side") + ":" + site.getAttribute("data-site");
  }

  // The findings of the whole form: "side:site:lesion" -> grade ("" if none).
  function handFindings() {
    var data = new FormData(form);
    var found = {};
    data.getAll("finding").forEach(function (k) {
      found[k] = "";
    });
    data.forEach(function (value, name) {
      if (name.indexOf("grade:") === 0 && value !== "") {
        var k = name.slice(6);
        if (k in found) {
          found[k] = value;
        }
      }
    });
    return found;
  }

  // Moves the chosen site's marks into hidden fields (before another is chosen).
  function stash() {
    if (!panel) {
      return;
    }
    panel.querySelectorAll("input[type=checkbox][name=finding]").forEach(function (box) {
      if (!box.checked) {
        return;
      }
      form.appendChild(el("input", { type: "hidden", name: "finding", value: box.value, "data-kept": "" }));
      var grade = panel.querySelector("input[type=radio][name='grade:" + box.value + "']:checked");
      if (grade && grade.value !== "") {
        form.appendChild(el("input", { type: "hidden", name: "grade:" + box.value, value: grade.value, "data-kept": "" }));
      }
    });
  }

  function lesionLabel(code) {
    return (names[code] && names[code].label) || code;
  }

  // A lesion's grade choices, shown while it is marked (so that the only
  // grades on the panel are those of marked lesions).
  function syncGrades(row, grade) {
    var box = row.querySelector("input[type=checkbox][name=finding]");
    var span = row.querySelector(".grades");
    if (!box.checked) {
      if (span) {
        span.remove();
      }
      return;
    }
    if (span) {
      return;
    }
    var label = lesionLabel(box.getAttribute("data-lesion"));
    span = el("span", { class: "grades", role: "radiogroup", "aria-label": "Grade of " + label });
    ["", "0", "1", "2", "3"].forEach(function (g) {
      var gl = el("label");
      var attrs = { type: "radio", name: "grade:" + box.value, value: g };
      if (g !== "") {
        attrs["data-grade"] = g;
      }
      var radio = el("input", attrs);
      radio.checked = (grade || "") === g;
      gl.appendChild(radio);
      gl.appendChild(document.createTextNode(g === "" ? " no grade" : " " + g));
      span.appendChild(gl);
    });
    row.appendChild(span);
  }

  function choose(site, focus) {
    if (!panel) {
      return;
    }
    stash();
    var key = keyOf(site);
    var recorded = {};
    form.querySelectorAll("input[data-kept]").forEach(function (input) {
      var k = input.name === "finding" ? input.value : input.name.slice(6);
      if (k.indexOf(key + ":") !== 0) {
        return;
      }
      var lesion = k.slice(key.length + 1);
      if (input.name === "finding") {
        recorded[lesion] = recorded[lesion] || "";
      } else {
        recorded[lesion] = input.value;
      }
      input.remove();
    });
    while (panel.firstChild) {
      panel.removeChild(panel.firstChild);
    }
    var side = site.getAttribute("data-side");
    panel.appendChild(el("legend", {}, sideTitle[side] + " · " + site.getAttribute("data-label")));
    var allowed = site.getAttribute("data-allowed").split(" ");
    allowed.forEach(function (lesion, i) {
      var value = key + ":" + lesion;
      var label = lesionLabel(lesion);
      var row = el("div", { class: "lesion-choice" });
      var lab = el("label", { class: "lesion" });
      var box = el("input", { type: "checkbox", name: "finding", value: value, "data-lesion": lesion });
      box.checked = lesion in recorded;
      lab.appendChild(box);
      lab.appendChild(document.createTextNode(" "));
      lab.appendChild(el("kbd", {}, String(i + 1)));
      lab.appendChild(document.createTextNode(" " + label));
      row.appendChild(lab);
      syncGrades(row, recorded[lesion] || "");
      panel.appendChild(row);
    });
    sites.forEach(function (s) {
      s.classList.toggle("current", s === site);
      if (s === site) {
        s.setAttribute("aria-current", "true");
      } else {
        s.removeAttribute("aria-current");
      }
    });
    if (currentInput) {
      currentInput.value = key;
    }
    lastLesion = null;
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", "?site=" + encodeURIComponent(key));
    }
    if (focus) {
      site.focus();
    }
  }

  // Draws what is recorded: letters at each site, the list beside.
  function refreshDrawing() {
    if (!panel) {
      return;
    }
    var found = handFindings();
    var lines = [];
    sites.forEach(function (site) {
      var key = keyOf(site);
      var letters = [];
      var words = [];
      lesionOrder.forEach(function (lesion) {
        var k = key + ":" + lesion;
        if (!(k in found)) {
          return;
        }
        var g = found[k];
        letters.push(names[lesion].letter + g);
        words.push(names[lesion].label + (g === "" ? "" : ", grade " + g));
      });
      var title = sideTitle[site.getAttribute("data-side")] + ", " + site.getAttribute("data-label");
      var text = site.querySelector("text");
      if (text) {
        text.textContent = letters.join(" ");
      }
      site.classList.toggle("marked", letters.length > 0);
      // The letters drawn are part of the name (as the server writes it).
      site.setAttribute("aria-label", words.length ? title + ", marked " + letters.join(" ") + ": " + words.join("; ") : title + ": nothing recorded");
      words.forEach(function (w) {
        lines.push(title + ": " + w);
      });
    });
    var list = form.querySelector("[data-recorded]");
    if (list) {
      while (list.firstChild) {
        list.removeChild(list.firstChild);
      }
      if (!lines.length) {
        list.appendChild(el("li", { class: "none" }, "Nothing marked yet."));
      }
      lines.forEach(function (line) {
        list.appendChild(el("li", {}, line));
      });
    }
  }

  if (panel) {
    panel.querySelectorAll(".lesion-choice").forEach(function (row) {
      syncGrades(row, "");
    });
  }
  sites.forEach(function (site) {
    site.addEventListener("click", function (e) {
      e.preventDefault();
      choose(site, false);
    });
  });

  // ---- the spine form: foraminal belongs to the canal ----
  function spineLinks(target) {
    var cell = target.closest("td[data-level][data-segment]");
    if (!cell) {
      return;
    }
    var box = cell.querySelector("input[type=checkbox][name=finding]");
    var foraminal = cell.querySelector("input[data-foraminal]");
    if (target === foraminal && foraminal.checked && box) {
      box.checked = true;
    } else if (target === box && !box.checked) {
      if (foraminal) {
        foraminal.checked = false;
      }
      cell.querySelectorAll("select").forEach(function (s) {
        s.value = "";
      });
    } else if (target.tagName === "SELECT" && target.value !== "" && box) {
      box.checked = true;
    }
  }

  function handLinks(target) {
    if (!panel || !panel.contains(target)) {
      return;
    }
    var row = target.closest(".lesion-choice");
    var box = row && row.querySelector("input[type=checkbox]");
    if (!box) {
      return;
    }
    lastLesion = box;
    if (target === box) {
      syncGrades(row, "");
    }
  }

  // ---- saving as the reader marks ----
  var timer = null;
  var inflight = null;
  var dirty = false;
  var conflict = false;
  var pendingSubmit = null;

  function time() {
    var d = new Date();
    return d.toLocaleTimeString();
  }

  function showConflict(current) {
    conflict = true;
    say("Not saved: a conflict (see above).", "bad");
    var box = el("div", { class: "conflict", role: "alert", "data-conflict": "" });
    box.appendChild(el("p", {}, "This reading was saved elsewhere (another tab or device) after you opened it. " +
      "Your marks are shown here and were not saved."));
    var keep = el("button", { type: "button", "data-action": "keep-mine" }, "Keep my marks (replace the other save)");
    keep.addEventListener("click", function () {
      versionInput.value = String(current);
      conflict = false;
      box.remove();
      dirty = true;
      flush(false);
    });
    var load = el("a", { class: "button", href: window.location.pathname, "data-action": "load-saved" }, "Show the other save (drops my marks)");
    box.appendChild(keep);
    box.appendChild(document.createTextNode(" "));
    box.appendChild(load);
    form.insertBefore(box, form.firstChild);
    keep.focus();
  }

  function flush(keepalive) {
    clearTimeout(timer);
    timer = null;
    if (!autosaveUrl || !dirty || conflict) {
      return;
    }
    if (inflight) {
      return;
    }
    dirty = false;
    var data = new FormData(form);
    data.delete("csrf");
    data.set("action", "autosave");
    say("Saving…");
    inflight = fetch(autosaveUrl, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "X-CSRF-Token": csrfInput.value, Accept: "application/json" },
      credentials: "same-origin",
      keepalive: !!keepalive
    }).then(function (r) {
      return r.json().catch(function () {
        return {};
      }).then(function (j) {
        if (r.status === 200) {
          versionInput.value = String(j.version);
          say("Saved automatically at " + time() + " (" + j.findings + " finding" + (j.findings === 1 ? "" : "s") + ").", "ok");
        } else if (r.status === 409) {
          showConflict(j.current_version);
        } else if (r.status === 422) {
          say("Not saved: " + (j.message || "the form was refused"), "bad");
        } else {
          dirty = true;
          say("Not saved (the server answered " + r.status + "): press Save.", "bad");
        }
      });
    }, function () {
      dirty = true;
      say("Not saved: no connection. Your marks stay on this page; press Save when the connection is back.", "bad");
    }).then(function () {
      inflight = null;
      if (pendingSubmit) {
        var b = pendingSubmit;
        pendingSubmit = null;
        form.requestSubmit(b);
      } else if (dirty && !conflict) {
        timer = setTimeout(function () { flush(false); }, 400);
      }
    });
  }

  function schedule() {
    if (!autosaveUrl || conflict) {
      return;
    }
    dirty = true;
    say("Changes not saved yet…");
    clearTimeout(timer);
    timer = setTimeout(function () { flush(false); }, 400);
  }

  form.addEventListener("change", function (e) {
    handLinks(e.target);
    spineLinks(e.target);
    refreshDrawing();
    schedule();
  });

  form.addEventListener("submit", function (e) {
    if (inflight) {
      e.preventDefault();
      pendingSubmit = e.submitter || null;
      return;
    }
    clearTimeout(timer);
    dirty = false;
  });

  window.addEventListener("pagehide", function () {
    if (dirty) {
      flush(true);
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && dirty) {
      flush(true);
    }
  });

  // ---- keyboard shortcuts (listed on the page under "Keyboard shortcuts") ----
  function press(action) {
    var b = form.querySelector("[data-action='" + action + "']") || document.querySelector("[data-action='" + action + "']");
    if (b) {
      b.click();
    }
  }

  function digit(e) {
    var m = /^(Digit|Numpad)([0-9])$/.exec(e.code || "");
    if (m) {
      return Number(m[2]);
    }
    return /^[0-9]$/.test(e.key) ? Number(e.key) : -1;
  }

  function spineMove(target, dRow, dCol) {
    var cell = target.closest && target.closest("td[data-level][data-segment]");
    if (!cell) {
      var first = form.querySelector("td[data-level] input[type=checkbox][name=finding]");
      if (first) {
        first.focus();
      }
      return true;
    }
    var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-level-row]:not(.unseen)"));
    var row = cell.parentElement;
    var r = rows.indexOf(row);
    var c = Array.prototype.indexOf.call(row.querySelectorAll("td[data-level]"), cell);
    var nr = Math.max(0, Math.min(rows.length - 1, r + dRow));
    var cells = rows[nr].querySelectorAll("td[data-level]");
    var nc = Math.max(0, Math.min(cells.length - 1, c + dCol));
    var box = cells[nc].querySelector("input[type=checkbox][name=finding]");
    if (box) {
      box.focus();
    }
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) {
      return;
    }
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && !/^(checkbox|radio|hidden|submit|button)$/.test(t.type))) {
      return;
    }
    var radio = tag === "INPUT" && t.type === "radio";
    var handled = true;
    var k = e.key;
    var n = digit(e);
    if (k === "?") {
      if (help) {
        help.open = !help.open;
      }
    } else if (k === "s") {
      press("save");
    } else if (k === "n") {
      press("nothing-found");
    } else if (k === "u") {
      press("next");
    } else if (panel && !radio && (k === "ArrowRight" || k === "ArrowLeft")) {
      var at = sites.indexOf(sites.filter(function (s) { return s.classList.contains("current"); })[0]);
      var next = k === "ArrowRight" ? at + 1 : (at < 0 ? sites.length - 1 : at - 1);
      if (next >= 0 && next < sites.length) {
        choose(sites[next], true);
      }
    } else if (panel && n >= 1) {
      var boxes = panel.querySelectorAll("input[type=checkbox][name=finding]");
      var box = boxes[n - 1];
      if (box) {
        box.click();
        lastLesion = box;
      } else {
        handled = false;
      }
    } else if (panel && k === "g") {
      if (lastLesion && panel.contains(lastLesion)) {
        var radios = Array.prototype.slice.call(lastLesion.closest(".lesion-choice").querySelectorAll("input[type=radio]"));
        var on = radios.findIndex(function (r) { return r.checked; });
        radios[(on + 1) % radios.length].click();
      }
    } else if (!panel && form.querySelector("table.spine") && /^Arrow(Up|Down|Left|Right)$/.test(k)) {
      spineMove(t, k === "ArrowDown" ? 1 : k === "ArrowUp" ? -1 : 0, k === "ArrowRight" ? 1 : k === "ArrowLeft" ? -1 : 0);
    } else if (!panel && k === "o") {
      var cell = t.closest && t.closest("tr[data-level-row]");
      var foraminal = cell && cell.querySelector("input[data-foraminal]");
      if (foraminal) {
        foraminal.click();
      }
    } else {
      handled = false;
    }
    if (handled) {
      e.preventDefault();
    }
  });
})();

// ---- the image viewer beside the forms ----
// Without the script the viewer is plain images and links (a window, a
// slab, the next slice); with it: wheel, keys and drag, images swapped in
// place, the HU under the cursor, and the page's address kept in step so
// a reload shows the same view.
(function () {
  "use strict";
  var viewer = document.querySelector("[data-viewer]");
  if (!viewer) {
    return;
  }
  document.documentElement.classList.add("js");
  var base = viewer.getAttribute("data-base");
  var stage = viewer.querySelector("[data-stage]");
  if (!stage) {
    return;
  }
  var kind = stage.getAttribute("data-kind");
  var params = new URLSearchParams(location.search);
  var view = {
    window: params.get("window") || "",
    invert: params.get("invert") === "true",
    slab: Number(params.get("slab") || 0) || 0
  };
  var readout = viewer.querySelector("[data-window-readout]");

  function imageQuery() {
    var q = new URLSearchParams();
    if (view.window) {
      q.set("window", view.window);
    }
    if (view.invert) {
      q.set("invert", "true");
    }
    if (view.slab > 0) {
      q.set("slab", String(view.slab));
    }
    return q.toString();
  }

  // The page's own address follows the view (window, invert, slab, slice).
  function remember(extra) {
    var q = new URLSearchParams(location.search);
    ["window", "invert", "slab", "slice", "saved"].forEach(function (k) {
      q.delete(k);
    });
    if (view.window) {
      q.set("window", view.window);
    }
    if (view.invert) {
      q.set("invert", "true");
    }
    if (view.slab > 0) {
      q.set("slab", String(view.slab));
    }
    Object.keys(extra || {}).forEach(function (k) {
      q.set(k, extra[k]);
    });
    history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q.toString() : ""));
  }

  // (centre, width) of a window name, in the image's units.
  function windowOf(name, fallback) {
    if (name === "bone") {
      return [400, 1800];
    }
    if (name === "soft") {
      return [40, 400];
    }
    var m = /^(-?[0-9.]+),([0-9.]+)$/.exec(name || "");
    return m ? [Number(m[1]), Number(m[2])] : fallback;
  }

  // Shift + drag: window (across) and level (up and down).
  function windowDrag(target, start, apply) {
    target.addEventListener("pointerdown", function (e) {
      if (!e.shiftKey) {
        return;
      }
      e.preventDefault();
      e.stopPropagation();
      var from = windowOf(view.window, start());
      var x0 = e.clientX;
      var y0 = e.clientY;
      var timer = null;
      function move(ev) {
        var w = Math.max(1, from[1] + (ev.clientX - x0) * from[1] / 200);
        var c = from[0] - (ev.clientY - y0) * from[1] / 400;
        view.window = Math.round(c) + "," + Math.round(w);
        if (readout) {
          readout.textContent = "window " + view.window;
        }
        clearTimeout(timer);
        timer = setTimeout(apply, 90);
      }
      function up() {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", up);
        clearTimeout(timer);
        apply();
      }
      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", up);
    });
  }

  function intercept(selector, change, apply) {
    viewer.querySelectorAll(selector).forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        change(a);
        apply();
      });
    });
  }

  // ---- marks on the images: where a finding was seen ----
  var form = document.querySelector("form.reading");
  var markButtons = Array.prototype.slice.call(viewer.querySelectorAll("[data-mark-mode]"));
  var markStatus = viewer.querySelector("[data-mark-status]");
  var marking = false;
  var lastKey = null;
  // Other readings' marks (the adjudicator's page): [{reader, n, key, uid, x, y}].
  var others = [];
  var othersEl = document.getElementById("reader-marks");
  if (othersEl) {
    try {
      others = JSON.parse(othersEl.textContent);
    } catch (e) {
      others = [];
    }
  }
  function markSay(text) {
    if (markStatus) {
      markStatus.textContent = text;
    }
  }
  function setMarking(on) {
    marking = on;
    viewer.classList.toggle("marking", on);
    markButtons.forEach(function (b) {
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    if (on) {
      markSay(lastKey ? "Click the image where " + words(lastKey) + " is seen." :
        "Tick a finding on the form first, then click the image where it is seen.");
    }
  }
  markButtons.forEach(function (b) {
    b.addEventListener("click", function () {
      setMarking(!marking);
    });
  });
  if (form) {
    form.addEventListener("change", function (e) {
      var t = e.target;
      if (t && t.name === "finding" && t.checked) {
        lastKey = t.value;
      }
    });
    form.addEventListener("focusin", function (e) {
      var t = e.target;
      if (t && t.name === "finding") {
        lastKey = t.value;
      }
    });
  }
  function ticked(key) {
    if (!form) {
      return false;
    }
    var inputs = form.querySelectorAll("input[name=finding]");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].value === key && (inputs[i].type === "hidden" || inputs[i].checked)) {
        return true;
      }
    }
    return false;
  }
  function ownMarks() {
    if (!form) {
      return [];
    }
    return Array.prototype.slice.call(form.querySelectorAll("input[data-mark-of]")).map(function (i) {
      var p = i.value.split(" ");
      return { key: i.getAttribute("data-mark-of"), uid: p[0], x: Number(p[1]), y: Number(p[2]), n: 0 };
    }).filter(function (m) {
      return m.uid && !isNaN(m.x) && ticked(m.key);
    });
  }
  var NS = "http://www.w3.org/2000/svg";
  // A finding's key in words: "t8:canal" → "T8 canal", "left:tuft_d2:calcinosis" → "left tuft d2 calcinosis".
  function words(key) {
    var parts = key.split(":");
    if (parts.length === 2) {
      parts[0] = parts[0].toUpperCase();
    }
    return parts.join(" ").replace(/_/g, " ");
  }
  function drawMarks(svg, uid, size) {
    if (!svg) {
      return;
    }
    while (svg.firstChild) {
      svg.removeChild(svg.firstChild);
    }
    var r = Math.max(3, size / 40);
    ownMarks().concat(others).filter(function (m) {
      return m.uid === uid && !isNaN(m.x);
    }).forEach(function (m) {
      var c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", String(m.x));
      c.setAttribute("cy", String(m.y));
      c.setAttribute("r", String(r));
      c.setAttribute("class", "mark-ring" + (m.n ? " reader-" + m.n : ""));
      c.setAttribute("data-mark-key", m.key);
      if (m.reader) {
        c.setAttribute("data-mark-reader", m.reader);
      }
      svg.appendChild(c);
      var t = document.createElementNS(NS, "text");
      t.setAttribute("x", String(m.x + r * 1.2));
      t.setAttribute("y", String(m.y - r * 0.6));
      t.setAttribute("class", "mark-label");
      t.setAttribute("font-size", String(r * 1.1));
      t.textContent = (m.reader ? m.reader + ": " : "") + words(m.key);
      svg.appendChild(t);
    });
  }
  // Where the click fell, in the image's pixels.
  function pixelOf(img, e) {
    var rect = img.getBoundingClientRect();
    return {
      x: Math.round((e.clientX - rect.left) * img.naturalWidth / rect.width * 10) / 10,
      y: Math.round((e.clientY - rect.top) * img.naturalHeight / rect.height * 10) / 10
    };
  }
  function placeMark(uid, p, redraw) {
    setMarking(false);
    if (!form || !lastKey) {
      markSay("Tick a finding on the form first, then mark it on the image.");
      return;
    }
    var box = form.querySelector("input[type=checkbox][name=finding][value='" + lastKey + "']");
    if (box && !box.checked) {
      box.click();
    }
    var input = form.querySelector("input[data-mark-of='" + lastKey + "']");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "mark:" + lastKey;
      input.setAttribute("data-mark-of", lastKey);
      form.appendChild(input);
    }
    input.value = uid + " " + p.x + " " + p.y;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    markSay("Marked " + words(lastKey) + " at (" + p.x + ", " + p.y + ").");
    redraw();
  }
  document.addEventListener("keydown", function (e) {
    if (e.key !== "k" || e.ctrlKey || e.metaKey || e.altKey) {
      return;
    }
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && !/^(checkbox|radio|hidden|submit|button)$/.test(t.type))) {
      return;
    }
    e.preventDefault();
    setMarking(!marking);
  });

  if (kind === "radiograph") {
    var img = stage.querySelector("img[data-viewer-image]");
    var box = stage.querySelector("[data-plane-box]");
    var overlay = stage.querySelector("[data-overlay]");
    var uid = img.getAttribute("data-instance");
    function redrawMarks() {
      drawMarks(overlay, uid, Number(img.getAttribute("width")));
    }
    redrawMarks();
    img.addEventListener("click", function (e) {
      if (marking) {
        placeMark(uid, pixelOf(img, e), redrawMarks);
      }
    });
    var image = img.getAttribute("src").replace(/\?.*$/, "");
    var zoom = 1;
    var panX = 0;
    var panY = 0;
    function place() {
      box.style.transform = "translate(" + panX + "px, " + panY + "px) scale(" + zoom + ")";
    }
    function reload() {
      img.src = image + "?" + imageQuery();
      if (readout) {
        readout.textContent = view.window ? "window " + view.window : "the image's own window";
      }
      remember();
    }
    function zoomAt(factor, cx, cy) {
      var z = Math.max(1, Math.min(12, zoom * factor));
      // Keep the point under the cursor where it is.
      panX = cx - (cx - panX) * z / zoom;
      panY = cy - (cy - panY) * z / zoom;
      zoom = z;
      if (zoom === 1) {
        panX = 0;
        panY = 0;
      }
      place();
    }
    stage.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = stage.getBoundingClientRect();
      zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    stage.addEventListener("pointerdown", function (e) {
      if (e.shiftKey || marking) {
        return;
      }
      e.preventDefault();
      var x0 = e.clientX - panX;
      var y0 = e.clientY - panY;
      function move(ev) {
        panX = ev.clientX - x0;
        panY = ev.clientY - y0;
        place();
      }
      function up() {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", up);
      }
      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", up);
    });
    viewer.querySelectorAll("[data-zoom]").forEach(function (b) {
      b.addEventListener("click", function () {
        var how = b.getAttribute("data-zoom");
        var r = stage.getBoundingClientRect();
        if (how === "fit") {
          zoom = 1;
          panX = 0;
          panY = 0;
          place();
        } else {
          zoomAt(how === "in" ? 1.5 : 1 / 1.5, r.width / 2, r.height / 2);
        }
      });
    });
    var own = [Number(stage.getAttribute("data-center")), Number(stage.getAttribute("data-width"))];
    windowDrag(stage, function () { return own; }, reload);
    intercept("[data-window-preset]", function () { view.window = ""; }, reload);
    intercept("[data-invert]", function (a) {
      view.invert = !view.invert;
      a.textContent = view.invert ? "normal" : "invert";
    }, reload);
    return;
  }

  // ---- CT: axial slice and sagittal reformat ----
  var axial = stage.querySelector("img[data-plane=axial]");
  var sagittal = stage.querySelector("[data-sagittal]");
  var sagittalImage = stage.querySelector("[data-sagittal-image]");
  var line = stage.querySelector("[data-slice-line]");
  var sliceOut = stage.querySelector("[data-slice]");
  var positionOut = stage.querySelector("[data-position]");
  var huOut = stage.querySelector("[data-hu]");
  var count = Number(stage.getAttribute("data-slices"));
  var column = Number(stage.getAttribute("data-column"));
  var rowMm = Number(stage.getAttribute("data-row-mm"));
  var offsets = stage.getAttribute("data-offsets").split(" ").map(Number);
  var positions = stage.getAttribute("data-positions").split(" ");
  var slice = Number(stage.getAttribute("data-slice-index"));
  var uids = stage.getAttribute("data-uids").split(" ");
  var axialOverlay = stage.querySelector("[data-overlay]");
  function redrawMarks() {
    drawMarks(axialOverlay, uids[slice], Number(axial.getAttribute("width")));
  }
  redrawMarks();
  axial.addEventListener("click", function (e) {
    if (marking) {
      placeMark(uids[slice], pixelOf(axial, e), redrawMarks);
    }
  });

  function images() {
    axial.src = base + "/ct/axial/" + slice + "?" + imageQuery();
    sagittalImage.setAttribute("href", base + "/ct/sagittal/" + column + "?" + imageQuery());
  }

  function show(n) {
    slice = Math.max(0, Math.min(count - 1, n));
    axial.src = base + "/ct/axial/" + slice + "?" + imageQuery();
    axial.setAttribute("data-slice-shown", String(slice));
    sliceOut.textContent = String(slice + 1);
    positionOut.textContent = positions[slice];
    line.setAttribute("y1", String(offsets[slice]));
    line.setAttribute("y2", String(offsets[slice]));
    axial.setAttribute("data-instance", uids[slice]);
    huOut.textContent = "—";
    redrawMarks();
    remember({ slice: String(slice) });
  }

  function step(d) {
    show(slice + d);
  }

  stage.addEventListener("wheel", function (e) {
    e.preventDefault();
    step(e.deltaY > 0 ? -1 : 1);
  }, { passive: false });
  viewer.querySelectorAll("[data-slice-step]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      step(Number(a.getAttribute("data-slice-step")));
    });
  });

  // Click on the sagittal plane: to the slice at that height.
  sagittal.addEventListener("click", function (e) {
    if (e.shiftKey) {
      return;
    }
    var ctm = sagittal.getScreenCTM();
    if (!ctm) {
      return;
    }
    var p = new DOMPoint(e.clientX, e.clientY).matrixTransform(ctm.inverse());
    var best = 0;
    offsets.forEach(function (o, i) {
      if (Math.abs(o - p.y) < Math.abs(offsets[best] - p.y)) {
        best = i;
      }
    });
    show(best);
  });

  // The HU under the cursor, asked of the server (one question at a time).
  var asking = false;
  var pending = null;
  function ask(url) {
    if (asking) {
      pending = url;
      return;
    }
    asking = true;
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (j) {
      if (j && typeof j.hu === "number") {
        huOut.textContent = String(j.hu);
      }
    }, function () {}).then(function () {
      asking = false;
      if (pending) {
        var next = pending;
        pending = null;
        ask(next);
      }
    });
  }
  axial.addEventListener("pointermove", function (e) {
    var x = Math.floor(e.offsetX * axial.naturalWidth / axial.clientWidth);
    var y = Math.floor(e.offsetY * axial.naturalHeight / axial.clientHeight);
    ask(base + "/hu?plane=axial&index=" + slice + "&x=" + x + "&y=" + y);
  });
  sagittal.addEventListener("pointermove", function (e) {
    var ctm = sagittal.getScreenCTM();
    if (!ctm) {
      return;
    }
    var p = new DOMPoint(e.clientX, e.clientY).matrixTransform(ctm.inverse());
    if (p.x < 0 || p.y < 0 || p.x >= rowMm * Number(axial.getAttribute("height"))) {
      return;
    }
    ask(base + "/hu?plane=sagittal&index=" + column + "&x=" + Math.floor(p.x / rowMm) + "&y=" + Math.floor(p.y / rowMm));
  });

  function apply() {
    images();
    remember({ slice: String(slice) });
  }
  windowDrag(stage, function () { return [400, 1800]; }, apply);
  intercept("[data-window-preset]", function (a) {
    view.window = a.getAttribute("data-window-preset");
  }, apply);
  intercept("[data-slab]", function (a) {
    view.slab = Number(a.getAttribute("data-slab"));
  }, apply);
  intercept("[data-invert]", function (a) {
    view.invert = !view.invert;
    a.textContent = view.invert ? "normal" : "invert";
  }, apply);

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) {
      return;
    }
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && !/^(checkbox|radio|hidden|submit|button)$/.test(t.type))) {
      return;
    }
    if (e.key === "PageUp") {
      step(1);
    } else if (e.key === "PageDown") {
      step(-1);
    } else if (e.key === "b") {
      view.window = "bone";
      apply();
    } else if (e.key === "t") {
      view.window = "soft";
      apply();
    } else if (e.key === "m") {
      view.slab = view.slab >= 20 ? 0 : view.slab + 10;
      apply();
    } else {
      return;
    }
    e.preventDefault();
  });
})();
