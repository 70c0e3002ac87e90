// The back office's own script: every page works without it. No inline handlers anywhere (the CSP allows none).
(function () {
  "use strict";

  // A destructive form asks first: <form data-confirm="…">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // "/" puts the cursor in the page's search box (<input data-shortcut="/">), unless one is typing already.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement || (target instanceof HTMLElement && target.isContentEditable);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var field = document.querySelector('[data-shortcut="' + event.key + '"]');
    if (field) {
      event.preventDefault();
      field.focus();
      field.select();
    }
  });
})();

// Review workbench: j / k move between the queue's orders, a approves the current one, r goes to its rejection
// reason. Never while typing in a field, and only on a page with a queue.
(function () {
  "use strict";

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]"));
  }

  function current(list) {
    var active = document.activeElement;
    for (var i = 0; i < list.length; i++) {
      if (list[i] === active || list[i].contains(active) || list[i].classList.contains("current")) {
        return i;
      }
    }
    return -1;
  }

  function select(list, index) {
    list.forEach(function (item) { item.classList.remove("current"); });
    var item = list[index];
    item.classList.add("current");
    item.focus();
    item.scrollIntoView({block: "nearest"});
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = items();
    if (list.length && current(list) < 0) {
      list[0].classList.add("current");
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement || (target instanceof HTMLElement && target.isContentEditable);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var list = items();
    if (!list.length || ["j", "k", "a", "r"].indexOf(event.key) < 0) {
      return;
    }
    event.preventDefault();
    var index = current(list);
    if (event.key === "j" || event.key === "k") {
      var step = event.key === "j" ? 1 : -1;
      select(list, Math.min(list.length - 1, Math.max(0, index < 0 ? 0 : index + step)));
      return;
    }
    var item = list[index < 0 ? 0 : index];
    if (event.key === "a") {
      var form = item.querySelector("form[data-review-approve]");
      if (form) {
        form.requestSubmit();
      }
    } else {
      var field = item.querySelector("[data-review-reject]");
      if (field) {
        field.focus();
      }
    }
  });
})();
