// Live parts of the dashboard: an element with data-refresh="<url>" has its content replaced
// by that URL's answer every data-every milliseconds (default 1000), while the tab is visible.
// An answer with the header X-Final: 1 is the last one (an execution that ended). Everything
// works without this script; it only saves reloading.
(function () {
  "use strict";
  function follow(element) {
    var url = element.getAttribute("data-refresh");
    var every = parseInt(element.getAttribute("data-every") || "1000", 10);
    var busy = false;
    var timer = setInterval(function () {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
          if (!response.ok) { return null; }
          if (response.headers.get("X-Final") === "1") { clearInterval(timer); }
          return response.text();
        })
        .then(function (html) { if (html !== null && html !== undefined) { element.innerHTML = html; } })
        .catch(function () {})
        .then(function () { busy = false; });
    }, every);
  }
  document.querySelectorAll("[data-refresh]").forEach(follow);
})();
