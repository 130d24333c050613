/* Behaviour of the dashboard pages. Loaded from a static file: the CSP forbids inline scripts. */
(function () {
  "use strict";

  // Copy buttons: <button class="copy-button" data-copy-target="#element-id">.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP fallback (e.g. http://127.0.0.1): a temporary textarea and execCommand.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "position-fixed top-0 start-0 opacity-0";
      document.body.appendChild(area);
      area.select();
      try {
        document.execCommand("copy") ? resolve() : reject(new Error("copy refused"));
      } catch (err) {
        reject(err);
      } finally {
        document.body.removeChild(area);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target) { return; }
    var label = button.textContent;
    copyText(target.textContent).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
    }, function () {
      button.textContent = "Copy failed";
    }).finally(function () {
      window.setTimeout(function () {
        button.textContent = label;
        button.classList.remove("copied");
      }, 1500);
    });
  });

  // Compare: enable "Compare selected" only for 2 to 6 ticked rows, and say how many are ticked.
  var form = document.getElementById("compare-form");
  if (form) {
    var min = parseInt(form.getAttribute("data-compare-min"), 10) || 2;
    var max = parseInt(form.getAttribute("data-compare-max"), 10) || 6;
    var button = document.getElementById("compare-button");
    var hint = document.getElementById("compare-hint");
    var update = function () {
      var n = form.querySelectorAll("input.compare-check:checked").length;
      var ok = n >= min && n <= max;
      button.disabled = !ok;
      if (n === 0) {
        hint.textContent = "Tick " + min + " to " + max + " configs to compare them.";
      } else if (n > max) {
        hint.textContent = n + " ticked: at most " + max + " can be compared.";
      } else {
        hint.textContent = n + " ticked" + (ok ? "." : ": tick at least " + min + ".");
      }
    };
    form.addEventListener("change", update);
    update();
  }
})();
