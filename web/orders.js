// The orders section: choose quantities, place an order, watch it move to its final status.

import * as api from "./api.js";
import {
  announce,
  cloneTemplate,
  formatCents,
  formatPrice,
  formatTime,
  onSubmit,
  showError,
  toCents,
} from "./ui.js";

const FINAL = new Set(["completed", "failed"]);
const POLL_MS = 500; // orders settle in about a second: this shows every step
const SLOW_POLL_MS = 5000; // an order still open after a minute is waiting on a backlog
const SLOW_AFTER_MS = 60_000;
const RECENT_ORDERS = 20;

export function createOrdersView() {
  const form = document.getElementById("order-form");
  const table = document.getElementById("order-table");
  const rowsBody = document.getElementById("order-rows");
  const totalCell = document.getElementById("order-total");
  const empty = document.getElementById("order-empty");
  const list = document.getElementById("order-list");
  const summary = document.getElementById("orders-summary");

  let items = [];
  const cards = new Map(); // order id -> <li>
  const watching = new Map(); // order id -> timeout handle
  let epoch = 0; // bumped on reset: answers to polls of a previous login are dropped
  let pending = null; // { body, key } of a submit whose answer never arrived: retry with that key

  // --- the order form ---------------------------------------------------------------------------

  function quantities() {
    const chosen = new Map();
    for (const input of rowsBody.querySelectorAll("input.quantity")) {
      chosen.set(Number(input.dataset.itemId), input.value);
    }
    return chosen;
  }

  function updateTotal() {
    let cents = 0;
    for (const item of items) {
      const input = rowsBody.querySelector(`input[data-item-id="${item.id}"]`);
      const quantity = Number(input?.value);
      const price = toCents(item.price);
      if (Number.isInteger(quantity) && quantity > 0 && price !== null) cents += quantity * price;
    }
    totalCell.textContent = formatCents(cents);
  }

  function setItems(next) {
    const previous = quantities();
    items = next;
    rowsBody.replaceChildren(
      ...items.map((item) => {
        const row = cloneTemplate("order-row-template");
        row.querySelector(".order-row-title").textContent = item.title;
        row.querySelector(".order-row-price").textContent = formatPrice(item.price);
        const input = row.querySelector("input.quantity");
        input.dataset.itemId = String(item.id);
        input.setAttribute("aria-label", `Quantity of ${item.title}`);
        input.value = previous.get(item.id) ?? "0";
        return row;
      }),
    );
    table.hidden = items.length === 0;
    empty.hidden = items.length > 0;
    updateTotal();
  }

  rowsBody.addEventListener("input", updateTotal);

  onSubmit(form, async () => {
    const lines = [];
    for (const input of rowsBody.querySelectorAll("input.quantity")) {
      const quantity = Number(input.value);
      if (!Number.isInteger(quantity) || quantity < 0) {
        showError(`${input.getAttribute("aria-label")} must be a whole number, 0 or more`);
        input.focus();
        return;
      }
      if (quantity > 0) lines.push({ item_id: Number(input.dataset.itemId), quantity });
    }
    if (lines.length === 0) {
      showError(
        items.length === 0
          ? "Add an item first, then choose how many you want"
          : "Choose a quantity of at least one item",
      );
      rowsBody.querySelector("input.quantity")?.focus();
      return;
    }
    // The Idempotency-Key makes a retry safe: if the last attempt with these very lines got no
    // answer (the connection dropped), it may have been placed, and the same key returns it.
    const body = JSON.stringify(lines);
    const key = pending?.body === body ? pending.key : api.newIdempotencyKey();
    pending = { body, key };
    let order;
    try {
      order = await api.placeOrder(lines, key);
    } catch (error) {
      if (!(error instanceof api.NetworkError)) pending = null; // the server decided: new key next time
      throw error;
    }
    pending = null;
    for (const input of rowsBody.querySelectorAll("input.quantity")) input.value = "0";
    updateTotal();
    show(order, { prepend: true });
    announce(`Order ${order.id} placed; it is ${order.status}`);
    watch(order);
  });

  // --- the orders list --------------------------------------------------------------------------

  function show(order, { prepend = false } = {}) {
    let card = cards.get(order.id);
    if (!card) {
      card = cloneTemplate("order-template");
      card.dataset.id = String(order.id);
      card.querySelector(".order-title").textContent = `Order ${order.id}`;
      cards.set(order.id, card);
      if (prepend) list.prepend(card);
      else list.append(card);
      summary.hidden = true;
    }
    card.dataset.status = order.status;
    card.querySelector(".order-status").textContent = order.status;
    card.querySelector(".order-total").textContent = formatPrice(order.total);
    card.querySelector(".order-lines").replaceChildren(
      ...order.lines.map((line) => {
        const entry = document.createElement("li");
        entry.textContent = `${line.quantity} × ${line.title} at ${formatPrice(line.unit_price)} = ${formatPrice(line.line_total)}`;
        return entry;
      }),
    );
    const failure = card.querySelector(".order-failure");
    failure.textContent = order.failure_reason ? `Failed: ${order.failure_reason}` : "";
    failure.hidden = !order.failure_reason;
    card.querySelector(".order-history").replaceChildren(
      ...(order.status_history ?? []).map((step) => {
        const entry = document.createElement("li");
        const time = document.createElement("time");
        time.dateTime = step.at;
        time.textContent = formatTime(step.at);
        entry.append(`${step.status} `, time, step.reason ? ` (${step.reason})` : "");
        return entry;
      }),
    );
  }

  /** Poll the order until its status is final; announce each change. */
  function watch(order) {
    if (FINAL.has(order.status) || watching.has(order.id)) return;
    const started = Date.now();
    const mine = epoch;
    let last = order.status;
    let failures = 0;

    const schedule = () => {
      const delay = Date.now() - started > SLOW_AFTER_MS ? SLOW_POLL_MS : POLL_MS;
      watching.set(order.id, setTimeout(poll, Math.min(delay * 2 ** failures, 30_000)));
    };
    const poll = async () => {
      try {
        const current = await api.getOrder(order.id);
        if (mine !== epoch) return;
        failures = 0;
        show(current);
        if (current.status !== last) {
          last = current.status;
          if (current.status === "failed") {
            showError(`Order ${current.id} failed: ${current.failure_reason ?? "no reason given"}`);
          } else {
            announce(`Order ${current.id} is ${current.status}`);
          }
        }
        if (FINAL.has(current.status)) {
          watching.delete(order.id);
          return;
        }
      } catch (error) {
        if (mine !== epoch || error instanceof api.SessionExpiredError) return;
        if (error.status >= 400 && error.status < 500 && error.status !== 429) {
          watching.delete(order.id); // gone or not ours: asking again will not change that
          return;
        }
        failures += 1; // the server or network hiccuped: keep watching, more slowly
      }
      schedule();
    };
    schedule();
  }

  return {
    setItems,
    async load() {
      const page = await api.listOrders({ limit: RECENT_ORDERS });
      for (const order of page.data) show(order);
      summary.textContent =
        page.count === 0
          ? "No orders yet."
          : page.count > page.data.length
            ? `The ${page.data.length} newest of ${page.count} orders.`
            : "";
      summary.hidden = !summary.textContent;
      for (const order of page.data) watch(order);
    },
    unavailable(error) {
      if (error instanceof api.SessionExpiredError) return;
      summary.textContent = `Your orders could not be loaded: ${error.detail}`;
      summary.hidden = false;
    },
    /** Stop every poll and forget this user's orders (log out, session expired). */
    reset() {
      epoch += 1;
      for (const handle of watching.values()) clearTimeout(handle);
      watching.clear();
      cards.clear();
      list.replaceChildren();
      summary.textContent = "";
      pending = null;
      setItems([]);
    },
  };
}
