// Progressive enhancement of the catalog page; it works fully without this file.
// Filters auto-submit through panel.js ([data-autosubmit]). Here: one button that opens or
// closes every service description at once (they are <details>, usable one by one without JS).
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector("[data-toggle-descriptions]");
  const all = () => document.querySelectorAll("details.service-description");
  if (!toggle || all().length === 0) return;
  const showLabel = toggle.textContent;
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const open = toggle.classList.toggle("open");
    all().forEach((details) => { details.open = open; });
    toggle.textContent = open ? toggle.dataset.hideLabel : showLabel;
  });
});
