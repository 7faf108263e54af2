// Everything that talks to the service: one fetch wrapper plus a function per endpoint.
//
// Tokens live in this module's memory only (never localStorage, where any injected script could
// read them): a reload logs the user out, which is the price of that. An access token lives 15
// minutes; when a request answers 401 the wrapper trades the refresh token for a new pair once and
// retries the request once. Refresh tokens work a single time (the server revokes the whole login
// when one is reused), so concurrent 401s share one refresh instead of racing each other.

const API = "/api/v1";

/** A failed call. `detail` is the service's human message, `code` its machine code. */
export class ApiError extends Error {
  constructor(status, { detail, code, errors, request_id: requestId } = {}) {
    super(detail || `the server answered ${status}`);
    this.status = status;
    this.detail = this.message;
    this.code = code || "unknown";
    this.errors = Array.isArray(errors) ? errors : [];
    this.requestId = requestId || null;
  }
}

/** The login is over (refresh refused): the user must log in again. */
export class SessionExpiredError extends ApiError {}

/** fetch itself failed: offline, DNS, connection reset. Nothing is known about the server side. */
export class NetworkError extends ApiError {
  constructor() {
    super(0, {
      detail: "Cannot reach the server. Check your connection and try again.",
      code: "network_error",
    });
  }
}

let session = null; // { accessToken, refreshToken }
let refreshing = null; // the refresh in flight, shared by every request that hit a 401
const expiredListeners = new Set();

export function isLoggedIn() {
  return session !== null;
}

/** `listener(error)` runs once when a login ends on its own (refresh refused). */
export function onSessionExpired(listener) {
  expiredListeners.add(listener);
}

async function send(path, { method = "GET", json, form, headers = {}, token } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = new URLSearchParams(form); // sets application/x-www-form-urlencoded
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(`${API}${path}`, init);
  } catch {
    throw new NetworkError();
  }
}

async function bodyOf(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: `${response.status} ${response.statusText}`.trim() }; // e.g. a proxy's HTML page
  }
}

async function parse(response) {
  const body = await bodyOf(response);
  if (response.ok) return body;
  throw new ApiError(response.status, body || {});
}

function startSession(pair) {
  session = { accessToken: pair.access_token, refreshToken: pair.refresh_token };
}

function endSession(error) {
  const hadSession = session !== null;
  session = null;
  if (hadSession) for (const listener of expiredListeners) listener(error);
}

function refreshSession() {
  refreshing ??= (async () => {
    try {
      const response = await send("/auth/refresh", {
        method: "POST",
        json: { refresh_token: session.refreshToken },
      });
      if (response.ok) {
        startSession(await response.json());
        return;
      }
      const body = (await bodyOf(response)) || {};
      if (response.status >= 500) throw new ApiError(response.status, body); // try again later
      const expired = new SessionExpiredError(response.status, {
        ...body,
        detail: "Your session has expired. Please log in again.",
        code: body.code || "session_expired",
      });
      endSession(expired);
      throw expired;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** A call with the access token; on 401: refresh once, retry once. */
async function authorized(path, options = {}) {
  if (!session) throw new SessionExpiredError(401, { detail: "Please log in." });
  const used = session.accessToken;
  let response = await send(path, { ...options, token: used });
  if (response.status !== 401) return parse(response);

  // Another request may have refreshed while this one was in flight: then just retry.
  if (session && session.accessToken === used) await refreshSession();
  if (!session) throw new SessionExpiredError(401, { detail: "Please log in." });
  response = await send(path, { ...options, token: session.accessToken });
  if (response.status === 401) {
    // A token minted a moment ago was refused: the account is gone or deactivated.
    const body = (await bodyOf(response)) || {};
    const expired = new SessionExpiredError(401, body);
    endSession(expired);
    throw expired;
  }
  return parse(response);
}

// --- authentication ----------------------------------------------------------------------------

export async function signUp({ email, password, fullName }) {
  const json = { email, password };
  if (fullName) json.full_name = fullName;
  return parse(await send("/users", { method: "POST", json }));
}

/** Prove a new account's address with the token the confirmation e-mail carried. */
export async function confirmSignUp(token) {
  return parse(await send("/users/signup-confirmation", { method: "POST", json: { token } }));
}

/** OAuth2 password flow: the e-mail address goes in `username`. */
export async function logIn(email, password) {
  const response = await send("/auth/token", {
    method: "POST",
    form: { username: email, password },
  });
  startSession(await parse(response));
}

/** Revoke the login on the server (best effort) and forget the tokens. */
export async function logOut() {
  if (!session) return;
  const { refreshToken } = session;
  session = null;
  try {
    await send("/auth/logout", { method: "POST", json: { refresh_token: refreshToken } });
  } catch {
    // Offline: the tokens are gone from this page anyway and the refresh token expires on its own.
  }
}

export const getMe = () => authorized("/users/me");

// --- items -------------------------------------------------------------------------------------

export const listItems = ({ offset = 0, limit = 100 } = {}) =>
  authorized(`/items?offset=${offset}&limit=${limit}`);

export const createItem = (data) => authorized("/items", { method: "POST", json: data });

export const updateItem = (id, changes) =>
  authorized(`/items/${id}`, { method: "PATCH", json: changes });

export const deleteItem = (id) => authorized(`/items/${id}`, { method: "DELETE" });

// --- orders ------------------------------------------------------------------------------------

/** The same key with the same lines returns the same order, so a retried submit cannot buy twice. */
export const placeOrder = (lines, idempotencyKey) =>
  authorized("/orders", {
    method: "POST",
    json: { lines },
    headers: { "Idempotency-Key": idempotencyKey },
  });

export const listOrders = ({ offset = 0, limit = 20 } = {}) =>
  authorized(`/orders?offset=${offset}&limit=${limit}`);

export const getOrder = (id) => authorized(`/orders/${id}`);

/** 128 random bits as hex; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
