// Billing pages: progressive enhancement only (everything works without this file), no inline
// scripts (the Content-Security-Policy forbids them). Behaviour hangs off data- attributes.

// Copy buttons: <button data-copy-target="element-id" hidden> copies that element's text. They are
// hidden in the HTML and shown only here, where copying can actually work.
document.addEventListener("DOMContentLoaded", () => {
  const canCopy = Boolean(navigator.clipboard && window.isSecureContext);
  document.querySelectorAll("[data-copy-target], [data-fill-amount]").forEach((button) => {
    if (button.hasAttribute("data-fill-amount") || canCopy) button.hidden = false;
  });
});

document.addEventListener("click", (event) => {
  const copy = event.target.closest && event.target.closest("[data-copy-target]");
  if (copy) {
    const source = document.getElementById(copy.dataset.copyTarget);
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(() => {
      const label = copy.textContent;
      copy.textContent = "✓";
      setTimeout(() => { copy.textContent = label; }, 1500);
    });
    return;
  }
  const fill = event.target.closest && event.target.closest("[data-fill-amount]");
  if (fill && fill.form) {
    const input = fill.form.querySelector("input[name=amount]");
    if (input) { input.value = fill.dataset.fillAmount; input.focus(); }
  }
});

// <button data-confirm="question"> asks before submitting its form (e.g. replacing the API key).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
