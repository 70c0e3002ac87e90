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
