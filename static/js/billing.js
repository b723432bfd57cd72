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

// A top-up request's page polls its state (billing:topup_status, JSON) and turns "Credited" by
// itself when the bank notification arrives: the same pattern as the order pages (orders.js).
(() => {
  const POLL_MS = 4000;
  const setup = (box) => {
    let timer = null;
    const apply = (data) => {
      const badge = box.querySelector("[data-topup-state]");
      if (badge) {
        badge.textContent = data.label;
        badge.classList.remove("ok", "warn", "bad");
        badge.classList.add(data.state === "approved" ? "ok" : data.state === "pending" ? "warn" : "bad");
      }
      const received = box.querySelector("[data-topup-received]");
      if (received && data.received) {
        received.hidden = false;
        box.querySelector("[data-topup-received-amount]").textContent = data.received;
        const diff = box.querySelector("[data-topup-difference]");
        if (diff) diff.textContent = data.difference ? diff.dataset.template.replace("{d}", data.difference) : "";
      }
      if (data.balance) document.querySelectorAll("[data-balance]").forEach((el) => { el.textContent = data.balance; });
      if (data.final) {
        box.dataset.final = "1";
        document.querySelectorAll("[data-topup-pay]").forEach((el) => { el.hidden = true; });
      }
    };
    const tick = async () => {
      timer = null;
      if (box.dataset.final === "1") return;
      if (!document.hidden) {
        try {
          const response = await fetch(box.dataset.topupPoll, { headers: { Accept: "application/json" }, credentials: "same-origin" });
          if (response.ok) apply(await response.json());
        } catch (_error) {
          // Offline for a moment: the next tick tries again.
        }
      }
      if (box.dataset.final !== "1") timer = setTimeout(tick, POLL_MS);
    };
    if (box.dataset.final !== "1") timer = setTimeout(tick, POLL_MS);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && timer === null && box.dataset.final !== "1") tick();
    });
  };
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-topup-poll]").forEach(setup);
  });
})();

// /topup/ polls the customer's latest credited transfer: money sent with the deposit code shows
// up there by itself, and the balance in the header with it.
(() => {
  const POLL_MS = 4000;
  const setup = (note) => {
    const tick = async () => {
      if (!document.hidden) {
        try {
          const response = await fetch(note.dataset.depositPoll, { headers: { Accept: "application/json" }, credentials: "same-origin" });
          if (response.ok) {
            const data = await response.json();
            document.querySelectorAll("[data-balance]").forEach((el) => { el.textContent = data.balance; });
            if (data.latest && String(data.latest.id) !== note.dataset.latest) {
              note.dataset.latest = String(data.latest.id);
              note.textContent = note.dataset.template.replace("{amount}", data.latest.amount);
              note.hidden = false;
            }
          }
        } catch (_error) {
          // Offline for a moment: the next tick tries again.
        }
      }
      setTimeout(tick, POLL_MS);
    };
    setTimeout(tick, POLL_MS);
  };
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-deposit-poll]").forEach(setup);
  });
})();
