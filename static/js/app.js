// Worker Classroom: progressive enhancements. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  // Ask before destructive actions: <button data-confirm="...">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // A table wider than the phone scrolls sideways in its box: the box takes the keyboard focus, so it can be
  // scrolled without a finger (WCAG 2.1.1; axe's scrollable-region-focusable).
  document.querySelectorAll(".table-responsive").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) { box.tabIndex = 0; }
  });

  // The grassroots-union picker: search as you type, replace the select's options.
  document.querySelectorAll("[data-union-search]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-union-search"));
    var url = input.getAttribute("data-search-url");
    if (!select || !url) { return; }
    var timer = null;
    function search() {
      clearTimeout(timer);
      fetch(url + "?q=" + encodeURIComponent(input.value), { headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (unions) {
          var chosen = select.value;
          select.innerHTML = "";
          unions.forEach(function (union) {
            var option = document.createElement("option");
            option.value = union.id;
            option.textContent = union.label;
            option.selected = String(union.id) === chosen;
            select.appendChild(option);
          });
          if (unions.length === 1) { select.value = String(unions[0].id); }
        });
    }
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); search(); }
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    // The Search button searches in place: the form is not sent, so nothing typed is lost.
    var button = input.form && input.form.querySelector("button[name=search]");
    if (button) {
      button.addEventListener("click", function (event) { event.preventDefault(); search(); });
    }
  });
})();
