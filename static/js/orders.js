// Progressive enhancement of the order pages; every page works without this file.
// No inline scripts (the Content-Security-Policy forbids them): behaviour hangs off data- attributes.
//
// 1. The new-order form adapts to the chosen service (fields for its type, min/max, status) and
//    shows the price as you type. The price here is a preview: the server computes the charge.
// 2. Order lists and pages refresh progress every 10 s from orders:status_fragment (JSON).
// 3. Buttons with data-confirm ask before submitting.
(() => {
  "use strict";

  // --- money, the way panel.money does it ---------------------------------------------------
  // Rates have four decimals, amounts two; BigInt keeps big orders exact (no floats).
  const toUnits = (text, places) => {
    const [whole, fraction = ""] = String(text).trim().split(".");
    if (!/^\d+$/.test(whole || "0") || !/^\d*$/.test(fraction)) return null;
    return BigInt((whole || "0") + (fraction + "0".repeat(places)).slice(0, places));
  };

  // charge_for(rate, units): rate x units / 1000, half up to 0.01, never zero for a positive order.
  const chargeCents = (rate, units) => {
    const rate4 = toUnits(rate, 4);
    if (rate4 === null || units <= 0) return null;
    const exact = rate4 * BigInt(units); // in 1/10000 đồng per 1000 units
    let cents = (exact + 50000n) / 100000n;
    if (cents === 0n && exact > 0n) cents = 1n;
    return cents;
  };

  const group = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ".");

  // format_vnd: 1.234.568 ₫, decimals shown (with a comma) only when real.
  const formatVnd = (cents) => {
    const whole = cents / 100n;
    const fraction = cents % 100n;
    const text = fraction === 0n ? group(whole.toString()) : `${group(whole.toString())},${fraction.toString().padStart(2, "0")}`;
    return `${text} ₫`;
  };

  // data-template-one / data-template are the singular and plural of one translated message
  // (the page fills them with n=1 and n=2); languages with a single form give the same text twice.
  const template = (el, n) => {
    const text = (n === 1 && el.dataset.templateOne) || el.dataset.template || "{n}";
    return text.replace("{n}", group(String(n)));
  };

  // --- the new-order form ---------------------------------------------------------------------
  const setupOrderForm = (form) => {
    const select = form.querySelector("[data-order-service]");
    if (!select) return;
    const field = (name) => form.elements.namedItem(name);
    const dripfeed = field("dripfeed");
    const price = form.querySelector("[data-price]");
    const unitsLabel = form.querySelector("[data-units]");
    const commentCount = form.querySelector("[data-comment-count]");
    const info = form.querySelector("[data-service-info]");

    const commentLines = () => (field("comments")?.value || "").split(/\r\n|\r|\n/).filter((line) => line.trim()).length;
    const intValue = (name) => {
      const value = (field(name)?.value || "").trim();
      return /^\d+$/.test(value) ? Number(value) : 0;
    };

    const update = () => {
      const option = select.selectedOptions[0];
      const data = option && option.value ? option.dataset : null;
      const type = data ? data.type : "";
      const canDripfeed = !!data && type === "Default" && data.dripfeed === "1";
      const dripfeedOn = canDripfeed && dripfeed && dripfeed.checked;

      form.querySelectorAll("[data-kinds]").forEach((el) => {
        const kinds = el.dataset.kinds.split("|");
        el.hidden = !data || !kinds.includes(type) || (el.hasAttribute("data-needs-dripfeed") && !canDripfeed);
      });
      form.querySelectorAll("[data-dripfeed-fields]").forEach((el) => { el.hidden = !dripfeedOn; });
      form.querySelectorAll("[data-dripfeed-only]").forEach((el) => { el.hidden = !dripfeedOn; });
      form.querySelectorAll("[data-dripfeed-off]").forEach((el) => { el.hidden = dripfeedOn; });
      form.querySelectorAll("[data-quantity-hint]").forEach((el) => { el.hidden = !data; });

      if (info) {
        info.hidden = !data;
        if (data) {
          const put = (key, text) => info.parentElement.querySelectorAll(`[data-info="${key}"]`).forEach((el) => { el.textContent = text; });
          put("rate", formatVnd(chargeCents(data.rate, 1000) ?? 0n));
          put("min", group(data.min));
          put("max", group(data.max));
          put("avg", data.avg || "–");
          const refill = info.querySelector('[data-info="refill"]');
          if (refill) refill.textContent = data.refill || refill.dataset.none;
          const cancel = info.querySelector('[data-info="cancel"]');
          if (cancel) cancel.textContent = data.cancel === "1" ? cancel.dataset.yes : cancel.dataset.no;
          const status = info.querySelector('[data-info="status"]');
          if (status) {
            status.textContent = data.statusLabel;
            status.classList.toggle("warn", data.status !== "normal");
            status.classList.toggle("ok", data.status === "normal");
          }
        }
      }
      const quantity = field("quantity");
      if (quantity && data) {
        quantity.min = data.min;
        quantity.max = data.max;
      }

      let units = 0;
      if (type === "Custom Comments") {
        units = commentLines();
        if (commentCount) commentCount.textContent = template(commentCount, units);
      } else if (data) {
        units = intValue("quantity") * (dripfeedOn ? intValue("runs") : 1);
      }
      const cents = data ? chargeCents(data.rate, units) : null;
      if (price) price.textContent = cents === null ? price.dataset.empty : formatVnd(cents);
      if (unitsLabel) unitsLabel.textContent = cents === null ? "" : template(unitsLabel, units);
    };

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  };

  // --- live progress --------------------------------------------------------------------------
  const POLL_MS = 10000;

  const setupPolling = (container) => {
    const url = container.dataset.orderPoll;
    const openRows = () => [...container.querySelectorAll('[data-order-id][data-final="0"]')];
    let timer = null;

    const apply = (row, data) => {
      const cell = (name) => row.querySelectorAll(`[data-cell="${name}"]`);
      cell("status").forEach((el) => {
        el.textContent = data.label;
        el.classList.remove("ok", "warn", "bad");
        const css = { Completed: "ok", Partial: "warn", Canceled: "bad" }[data.status];
        if (css) el.classList.add(css);
      });
      cell("progress").forEach((el) => { el.max = data.quantity; el.value = data.delivered; el.textContent = `${Math.round((100 * data.delivered) / Math.max(1, data.quantity))}%`; });
      cell("delivered").forEach((el) => { el.textContent = group(String(data.delivered)); });
      if (data.package) {
        cell("package-bar").forEach((el) => { if (data.package.max !== null) { el.max = data.package.max; el.value = data.package.value; el.textContent = `${data.package.percent}%`; } });
        cell("package-label").forEach((el) => { el.textContent = data.package.label; });
      }
      cell("start_count").forEach((el) => { if (data.start_count !== null) el.textContent = group(String(data.start_count)); });
      row.querySelectorAll('[data-action="refill"]').forEach((el) => { el.hidden = !data.can_refill; });
      row.querySelectorAll('[data-action="cancel"]').forEach((el) => { el.hidden = !data.can_cancel; });
      if (data.final) row.dataset.final = "1";
    };

    const tick = async () => {
      timer = null;
      const rows = openRows();
      if (rows.length === 0) return;
      if (!document.hidden) {
        const ids = rows.map((row) => row.dataset.orderId).join(",");
        try {
          const response = await fetch(`${url}?ids=${encodeURIComponent(ids)}`, {
            headers: { Accept: "application/json" }, credentials: "same-origin",
          });
          if (response.ok) {
            const body = await response.json();
            rows.forEach((row) => {
              const data = body.orders[row.dataset.orderId];
              if (data) apply(row, data);
            });
          }
        } catch (_error) {
          // Offline for a moment: the next tick tries again.
        }
      }
      timer = setTimeout(tick, POLL_MS);
    };
    if (openRows().length) timer = setTimeout(tick, POLL_MS);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && timer === null && openRows().length) tick();
    });
  };

  // --- confirmations --------------------------------------------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-order-form]").forEach(setupOrderForm);
    document.querySelectorAll("[data-order-poll]").forEach(setupPolling);
  });
})();
