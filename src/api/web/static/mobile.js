/* The customer's app: progressive enhancement only, every page works without it (the CSP allows no inline script). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  /* One submit per form marked data-once: a double tap sends one request (the server is idempotent as well). */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-once]")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-disabled", "true");
      button.classList.add("busy");
    });
  });

  /* The product page: the quote follows the pickers without a reload; the address keeps the choice for a reload. */
  var picker = document.getElementById("picker");
  if (picker) {
    picker.addEventListener("change", function (event) {
      if (event.target.matches("[data-reload]")) {
        picker.submit();
        return;
      }
      var query = new URLSearchParams(new FormData(picker)).toString();
      history.replaceState(null, "", picker.action + "?" + query);
      fetch(picker.dataset.quote + "?" + query, { credentials: "same-origin" })
        .then(function (answer) { return answer.text(); })
        .then(function (text) {
          var found = new DOMParser().parseFromString(text, "text/html");
          ["quote", "action-bar"].forEach(function (id) {
            var fresh = found.getElementById(id);
            var old = document.getElementById(id);
            if (fresh && old) old.replaceWith(document.importNode(fresh, true));
          });
        })
        .catch(function () { picker.submit(); });
    });
  }

  /* A contract is signed once read to the end: the button waits until the text has been scrolled through. */
  document.querySelectorAll("[data-read-to-end]").forEach(function (text) {
    var button = document.getElementById(text.dataset.readToEnd);
    if (!button) return;
    function check() {
      if (text.scrollTop + text.clientHeight >= text.scrollHeight - 8) {
        button.disabled = false;
        button.removeAttribute("aria-disabled");
        text.removeEventListener("scroll", check);
      }
    }
    button.disabled = true;
    button.setAttribute("aria-disabled", "true");
    text.addEventListener("scroll", check);
    check();
  });

  /* Elements that poll for news (a conversation's new messages): data-poll="url", replaced every few seconds. */
  document.querySelectorAll("[data-poll]").forEach(function (box) {
    var every = parseInt(box.dataset.pollEvery || "3000", 10);
    setInterval(function () {
      if (document.hidden) return;
      fetch(box.dataset.poll, { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (text) {
          if (text === null) return;
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById(box.id);
          if (fresh && fresh.innerHTML !== box.innerHTML) box.innerHTML = fresh.innerHTML;
        })
        .catch(function () {});
    }, every);
  });
})();
