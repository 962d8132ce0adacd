/* The offline page reloads itself once the server answers again. */
(function () {
  "use strict";
  function check() {
    fetch("/health", { cache: "no-store" })
      .then(function (answer) {
        if (answer.ok) window.location.reload();
        else setTimeout(check, 3000);
      })
      .catch(function () {
        setTimeout(check, 3000);
      });
  }
  setTimeout(check, 3000);
})();
