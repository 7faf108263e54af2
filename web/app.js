// Start-up and the two screens: logged out (log in, sign up) and logged in (items, orders).

import * as api from "./api.js";
import { createItemsView } from "./items.js";
import { createOrdersView } from "./orders.js";
import { announce, clearFieldErrors, clearMessages, onSubmit, showError } from "./ui.js";

const authView = document.getElementById("auth-view");
const appView = document.getElementById("app-view");
const account = document.getElementById("account");
const signedInAs = document.getElementById("signed-in-as");
const loginForm = document.getElementById("login-form");
const signupForm = document.getElementById("signup-form");

const orders = createOrdersView();
const items = createItemsView({ onChange: (current) => orders.setItems(current) });

/** Load the logged-in screen; returns the name to greet the user by. */
async function enterApp() {
  const me = await api.getMe();
  const name = me.full_name || me.email;
  signedInAs.textContent = `Signed in as ${name}`;
  // Orders are secondary here: if they cannot load, items still work and the reason is shown.
  await Promise.all([items.load(), orders.load().catch((error) => orders.unavailable(error))]);
  for (const form of [loginForm, signupForm]) {
    form.reset();
    clearFieldErrors(form);
  }
  authView.hidden = true;
  appView.hidden = false;
  account.hidden = false;
  document.getElementById("items-heading").focus();
  return name;
}

function leaveApp() {
  orders.reset();
  items.reset();
  appView.hidden = true;
  account.hidden = true;
  signedInAs.textContent = "";
  authView.hidden = false;
  loginForm.elements.username.focus();
}

api.onSessionExpired((error) => {
  leaveApp();
  showError(error.detail);
});

onSubmit(loginForm, async (data) => {
  const email = data.get("username").trim();
  try {
    await api.logIn(email, data.get("password"));
  } catch (error) {
    if (["bad_credentials", "too_many_attempts", "email_not_confirmed"].includes(error.code)) {
      loginForm.elements.password.value = "";
      loginForm.elements.password.focus();
      showError(error.detail);
      return;
    }
    throw error;
  }
  announce(`Welcome back, ${await enterApp()}`);
});

// A sign-up answers the same whether or not the address was free: a link to confirm it goes to
// the address, and the account can log in once it is confirmed. Say what the service said.
onSubmit(signupForm, async (data) => {
  const email = data.get("email").trim();
  const accepted = await api.signUp({ email, password: data.get("password"), fullName: data.get("full_name").trim() });
  signupForm.reset();
  loginForm.elements.username.value = email;
  announce(accepted.detail);
});

/** The link in the confirmation e-mail opens the page with `?confirm=<token>`. */
async function confirmFromLink() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("confirm");
  if (!token) return;
  url.searchParams.delete("confirm");
  window.history.replaceState(null, "", url); // a reload must not send the used token again
  try {
    const user = await api.confirmSignUp(token);
    loginForm.elements.username.value = user.email;
    announce("Your e-mail address is confirmed. You can log in now");
    loginForm.elements.password.focus();
  } catch (error) {
    showError(error.detail);
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  await api.logOut();
  leaveApp();
  announce("You are logged out");
});

// Tokens live in memory only, so every page load starts logged out.
document.getElementById("loading").remove();
clearMessages();
authView.hidden = false;
confirmFromLink();
