// Progressive enhancement for every page; every page works without this file.
// No inline scripts anywhere (the Content-Security-Policy forbids them): behaviour hangs off
// data- attributes, and each app adds its own file for its own pages.
(() => {
  "use strict";

  document.documentElement.classList.add("js");

  // <select data-autosubmit> (and checkboxes) submit their form when changed: the language
  // switcher, list filters. Without JavaScript a visible button does it ([data-js-hidden]).
  document.addEventListener("change", (event) => {
    const el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      if (typeof el.form.requestSubmit === "function") el.form.requestSubmit();
      else el.form.submit();
    }
  });

  // Flash messages get a close button (hidden in the HTML: it needs this script to work).
  const setupMessages = () => {
    document.querySelectorAll(".messages .msg").forEach((msg) => {
      const close = msg.querySelector("[data-dismiss]");
      if (close) {
        close.hidden = false;
        close.addEventListener("click", () => msg.remove());
      }
    });
  };

  // The user menu is a <details>: close it on a click elsewhere or on Escape.
  const menus = () => document.querySelectorAll("details[data-menu][open]");
  document.addEventListener("click", (event) => {
    menus().forEach((menu) => { if (!menu.contains(event.target)) menu.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    menus().forEach((menu) => {
      menu.open = false;
      const summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // The phone menu is a checkbox and its label; tell assistive technology whether it is open.
  const setupNavToggle = () => {
    const toggle = document.getElementById("nav-toggle");
    const label = document.querySelector("[data-nav-toggle]");
    if (!toggle || !label) return;
    label.setAttribute("role", "button");
    label.setAttribute("tabindex", "0");
    label.setAttribute("aria-controls", "site-nav");
    const sync = () => label.setAttribute("aria-expanded", toggle.checked ? "true" : "false");
    toggle.tabIndex = -1;
    toggle.addEventListener("change", sync);
    label.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        toggle.checked = !toggle.checked;
        sync();
      }
    });
    sync();
  };

  document.addEventListener("DOMContentLoaded", () => {
    setupMessages();
    setupNavToggle();
  });
})();
