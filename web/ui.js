// Small DOM helpers every view shares: messages, field errors, busy forms, money.

import { SessionExpiredError } from "./api.js";

const notice = document.getElementById("notice");
const alertRegion = document.getElementById("alert");

// A new node each time: screen readers announce additions even when the text repeats.
function say(region, text) {
  const line = document.createElement("p");
  line.textContent = text;
  region.replaceChildren(line);
}

export function sentence(text) {
  const trimmed = String(text).trim();
  if (!trimmed) return trimmed;
  const capitalised = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/** Progress and success ("Item added."), read politely. */
export function announce(text) {
  alertRegion.replaceChildren();
  say(notice, sentence(text));
}

/** Something the user must act on, read at once. */
export function showError(text) {
  notice.replaceChildren();
  say(alertRegion, sentence(text));
}

export function clearMessages() {
  notice.replaceChildren();
  alertRegion.replaceChildren();
}

/**
 * Show a failed call. Field errors of a 422 go next to their fields in `form`; the alert
 * says what happened. A session that ended is reported by the login screen, not here.
 */
export function reportError(error, form = null) {
  if (error instanceof SessionExpiredError) return;
  if (!("status" in error)) {
    console.error(error);
    showError("Something went wrong in this page. Reload it and try again.");
    return;
  }
  const marked = form ? markFields(form, error) : [];
  let text = error.detail;
  if (marked.length > 0 && error.code === "validation_error") {
    text = marked.length === 1 ? "Please correct the highlighted field" : "Please correct the highlighted fields";
  } else if (error.status >= 500 && error.requestId) {
    text = `${sentence(error.detail)} Request id: ${error.requestId}`;
  }
  showError(text);
  if (marked.length > 0) marked[0].focus();
}

// Conflicts that belong to one field though the service reports them without a location (an
// e-mail change to a taken address; a sign-up never says whether an address is taken).
const FIELD_OF_CODE = { email_taken: "email" };

let nextErrorId = 0;

function markFields(form, error) {
  const problems = [];
  for (const item of error.errors) {
    // ["body", "price"] -> "price"; deeper locations (order lines) stay in the summary.
    if (Array.isArray(item.loc) && item.loc.length === 2) problems.push([item.loc[1], item.msg]);
  }
  if (FIELD_OF_CODE[error.code]) problems.push([FIELD_OF_CODE[error.code], error.detail]);
  const marked = [];
  for (const [name, message] of problems) {
    const field = form.elements.namedItem(String(name));
    if (!(field instanceof HTMLElement) || marked.includes(field)) continue;
    setFieldError(field, sentence(message));
    marked.push(field);
  }
  return marked;
}

function setFieldError(field, message) {
  const note = document.createElement("p");
  note.className = "field-error";
  note.id = `field-error-${++nextErrorId}`;
  note.textContent = message;
  field.insertAdjacentElement("afterend", note);
  field.setAttribute("aria-invalid", "true");
  const describedBy = field.getAttribute("aria-describedby");
  field.dataset.describedBy = describedBy ?? "";
  field.setAttribute("aria-describedby", describedBy ? `${note.id} ${describedBy}` : note.id);
}

export function clearFieldErrors(form) {
  for (const note of form.querySelectorAll(".field-error")) note.remove();
  for (const field of form.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    if (field.dataset.describedBy) field.setAttribute("aria-describedby", field.dataset.describedBy);
    else field.removeAttribute("aria-describedby");
    delete field.dataset.describedBy;
  }
}

/**
 * Run `task` for a submitted form once at a time. The button keeps focus (aria-disabled rather
 * than disabled, which would drop focus to the page), and a second click while busy does nothing.
 */
export async function whileBusy(form, task) {
  if (form.getAttribute("aria-busy") === "true") return;
  const buttons = form.querySelectorAll("button");
  form.setAttribute("aria-busy", "true");
  for (const button of buttons) button.setAttribute("aria-disabled", "true");
  try {
    await task();
  } finally {
    form.removeAttribute("aria-busy");
    for (const button of buttons) button.removeAttribute("aria-disabled");
  }
}

/** A submit handler that ignores native validation, clears old errors and runs once at a time. */
export function onSubmit(form, handler) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    whileBusy(form, () => handler(new FormData(form), event.submitter)).catch((error) =>
      reportError(error, form),
    );
  });
}

/** "12.5" -> 1250 cents, exactly (no floating point); null when not a price. */
export function toCents(value) {
  const match = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(String(value));
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

export function formatCents(cents) {
  const whole = Math.trunc(cents / 100).toLocaleString("en");
  return `${whole}.${String(cents % 100).padStart(2, "0")}`;
}

/** The service answers prices as decimal strings ("12.50"); show them with thousands separators. */
export function formatPrice(value) {
  const cents = toCents(value);
  return cents === null ? String(value) : formatCents(cents);
}

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString();
}

export function cloneTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}
