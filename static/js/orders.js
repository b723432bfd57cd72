// Progressive enhancement of the order pages; every page works without this file.
// No inline scripts (the Content-Security-Policy forbids them): behaviour hangs off data- attributes.
//
// 1. The new-order page: the category -> service picker, the service card, fields for the
//    service's kind, the price as you type (a preview: the server computes the charge).
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
  // The picker (category, search) fills the service list from orders:picker_services; picking a
  // service loads its card from orders:service_card. The choice is kept in the URL (?service=,
  // ?category=, ?q=), so a reload or a shared link opens the same choice.
  const setupOrderForm = (form) => {
    const select = form.querySelector("[data-order-service]");
    if (!select) return;
    const pickerForm = document.querySelector("[data-picker]");
    const field = (name) => form.elements.namedItem(name);
    const dripfeed = field("dripfeed");
    const price = form.querySelector("[data-price]");
    const unitsLabel = form.querySelector("[data-units]");
    const commentCount = form.querySelector("[data-comment-count]");
    const cardSlot = form.querySelector("[data-card-slot]");
    const dripSummary = form.querySelector("[data-dripfeed-summary]");
    const sameLink = form.querySelector("[data-same-link]");
    const card = () => cardSlot && cardSlot.querySelector("[data-service-card]");

    const commentLines = () => (field("comments")?.value || "").split(/\r\n|\r|\n/).filter((line) => line.trim()).length;
    const intValue = (name) => {
      const value = (field(name)?.value || "").trim();
      return /^\d+$/.test(value) ? Number(value) : 0;
    };
    const fill = (text, values) => text.replace(/\{(\w+)\}/g, (all, key) => (key in values ? values[key] : all));
    const clock = (date) => `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;

    const update = () => {
      const current = card();
      const data = current && current.dataset.id === select.value ? current.dataset : null;
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
      if (data) {
        form.querySelectorAll('[data-info="min"]').forEach((el) => { el.textContent = group(data.min); });
        form.querySelectorAll('[data-info="max"]').forEach((el) => { el.textContent = group(data.max); });
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
      const priceText = cents === null ? null : formatVnd(cents);
      if (price) price.textContent = priceText === null ? price.dataset.empty : priceText;
      if (unitsLabel) unitsLabel.textContent = cents === null ? "" : template(unitsLabel, units);

      // Drip-feed: runs x quantity = total, the interval, when the last run should start.
      if (dripSummary) {
        const runs = intValue("runs");
        const interval = intValue("interval");
        const perRun = intValue("quantity");
        const ready = dripfeedOn && runs >= 2 && interval >= 1 && perRun > 0;
        dripSummary.hidden = !ready;
        if (ready) {
          const last = new Date(Date.now() + (runs - 1) * interval * 60000);
          dripSummary.textContent = fill(dripSummary.dataset.template, {
            runs: group(String(runs)), quantity: group(String(perRun)), total: group(String(runs * perRun)),
            interval: group(String(interval)), last: clock(last),
          });
        }
      }
      // VIP packages: in words, what is bought and what it costs.
      const pkg = current && current.querySelector('[data-card="package"]');
      if (pkg && data && units > 0 && priceText) {
        pkg.textContent = fill(pkg.dataset.template, { n: group(String(units)), price: priceText });
      }
    };

    // The URL keeps the choice: ?service= (and the category or search that listed it).
    const keepInUrl = (params) => {
      const url = new URL(window.location.href);
      Object.entries(params).forEach(([key, value]) => {
        if (value) url.searchParams.set(key, value); else url.searchParams.delete(key);
      });
      window.history.replaceState(null, "", url);
    };

    const loadCard = async () => {
      keepInUrl({ service: select.value });
      if (!cardSlot || !pickerForm) return update();
      if (!select.value) {
        cardSlot.replaceChildren();
        return update();
      }
      const response = await fetch(`${pickerForm.dataset.cardUrl}?service=${encodeURIComponent(select.value)}`, { credentials: "same-origin" });
      if (response.ok) {
        const html = await response.text();
        // The fragment is the project's own template, escaped by Django; parsed, not executed.
        const doc = new DOMParser().parseFromString(html, "text/html");
        cardSlot.replaceChildren(...doc.body.childNodes);
      }
      update();
      checkSameLink();
    };

    const setOptions = (body) => {
      const previous = select.value;
      const first = select.options[0];
      const options = body.services.map((s) => {
        const option = new Option(`${s.favourite ? "★ " : ""}#${s.id} · ${s.name} · ${s.price}`, String(s.id));
        option.dataset.rate = s.rate;
        return option;
      });
      if (body.more) {
        const more = new Option(select.dataset.moreTemplate.replace("{n}", group(String(body.more))), "");
        more.disabled = true;
        options.push(more);
      }
      select.replaceChildren(first, ...options);
      if (options.some((o) => o.value === previous && previous)) select.value = previous;
      const rates = field("shown_rates");
      if (rates) rates.value = body.rates;
    };

    const loadList = async (params) => {
      if (!pickerForm) return;
      const query = new URLSearchParams(params);
      const response = await fetch(`${pickerForm.dataset.servicesUrl}?${query}`, { credentials: "same-origin" });
      if (!response.ok) return;
      setOptions(await response.json());
      if (select.value !== (card()?.dataset.id || "")) loadCard(); else update();
    };

    if (pickerForm) {
      const category = pickerForm.querySelector("[data-picker-category]");
      const search = pickerForm.querySelector("[data-picker-q]");
      const submit = pickerForm.querySelector("[data-picker-submit]");
      if (submit) submit.hidden = true;
      pickerForm.addEventListener("submit", (event) => {
        event.preventDefault();
        if (search.value.trim()) loadList({ q: search.value.trim() });
      });
      category.addEventListener("change", () => {
        search.value = "";
        keepInUrl({ category: category.value, q: "" });
        loadList({ category: category.value });
      });
      let timer = null;
      search.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          const q = search.value.trim();
          keepInUrl({ q });
          if (q.length >= 2) loadList({ q });
          else if (!q && category.value) loadList({ category: category.value });
        }, 250);
      });
    }

    // Same link, same service: warn while another order of the customer's is still open.
    let sameLinkTimer = null;
    const checkSameLink = () => {
      if (!sameLink) return;
      clearTimeout(sameLinkTimer);
      sameLinkTimer = setTimeout(async () => {
        const link = (field("link")?.value || "").trim();
        if (!select.value || !link) {
          sameLink.hidden = true;
          return;
        }
        const query = new URLSearchParams({ service: select.value, link });
        const response = await fetch(`${form.dataset.sameLinkUrl}?${query}`, { credentials: "same-origin" });
        if (!response.ok) return;
        const body = await response.json();
        sameLink.hidden = !body.order;
        if (body.order) {
          sameLink.querySelector("[data-same-link-text]").textContent = sameLink.dataset.template.replace("{order}", String(body.order));
        }
      }, 300);
    };

    // The star on the card: toggled in place (without the script, the button posts and returns).
    form.addEventListener("click", async (event) => {
      const star = event.target.closest("[data-favourite]");
      if (!star) return;
      event.preventDefault();
      const token = field("csrfmiddlewaretoken")?.value || "";
      const response = await fetch(star.getAttribute("formaction"), {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": token },
      });
      if (!response.ok) return;
      const body = await response.json();
      star.classList.toggle("on", body.favourite);
      star.setAttribute("aria-pressed", body.favourite ? "true" : "false");
      const label = body.favourite ? star.dataset.labelOn : star.dataset.labelOff;
      star.title = label;
      star.querySelector(".visually-hidden").textContent = label;
    });

    select.addEventListener("change", loadCard);
    field("link")?.addEventListener("input", checkSameLink);
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
    checkSameLink();
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
