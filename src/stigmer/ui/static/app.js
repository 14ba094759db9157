// The dashboard: a page per address (#/executions, #/workflows/NAME, …), sign-in when keys are on.

import { get, post } from "./api.js";
import { h, problem, put } from "./dom.js";
import { executionPage, executionsPage } from "./executions.js";
import { KINDS, resourcePage, resourcesPage } from "./resources.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const footer = document.getElementById("footer");
let leave = () => {};
let info = null;
let generation = 0;

function loginPage(refused) {
  const field = h("input", { type: "password", name: "token", id: "token", placeholder: "sk_…", autocomplete: "off", size: 44, required: true });
  const slot = h("div");
  const form = h(
    "form",
    { class: "card login", id: "login" },
    h("h1", {}, "Sign in"),
    h("p", {}, "This dashboard needs an API key. Whoever runs it creates one with ", h("code", {}, "stigmer server keys create NAME"), "."),
    refused ? problem({ message: "That key was refused: it is unknown or revoked." }) : null,
    h("label", { class: "field" }, h("span", { class: "label" }, "API key"), field),
    slot,
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Sign in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post("/login", { token: field.value });
      info = null;
      location.hash = "#/executions";
      await route();
    } catch (error) {
      put(slot, problem(error));
    }
  });
  put(main, form);
  field.focus();
  return () => {};
}

async function loadInfo() {
  if (info) return info;
  info = await get("/info");
  const parts = [`Stigmer ${info.version}`, info.backend || (info.remote ? "server" : "local store")];
  parts.push(info.worker ? "runs executions here" : info.remote ? "the server runs executions" : "no worker here (--no-worker)");
  put(footer, parts.join(" · "));
  if (info.auth.required) {
    put(
      who,
      h("span", { class: "muted" }, `key ${info.auth.key}`),
      " ",
      h(
        "button",
        {
          type: "button",
          class: "link",
          id: "sign-out",
          onclick: async () => {
            await post("/logout", {});
            info = null;
            location.hash = "#/login";
          },
        },
        "Sign out",
      ),
    );
  } else {
    put(who);
  }
  return info;
}

function highlight(section) {
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.nav === section);
}

async function route() {
  leave();
  leave = () => {};
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search);
  const section = parts[0] || "executions";
  highlight(section);
  document.title = `${parts[1] || (KINDS[section] ? KINDS[section].title : "Executions")} · Stigmer`;
  if (section === "login") {
    leave = loginPage(parts[1] === "refused");
    return;
  }
  try {
    await loadInfo();
  } catch (error) {
    if (error.status === 401) {
      leave = loginPage(false);
      return;
    }
    put(main, problem(error));
    return;
  }
  const mine = ++generation;
  let done = () => {};
  if (section === "executions") {
    done = parts[1] ? await executionPage(main, parts[1]) : await executionsPage(main, query);
  } else if (KINDS[section]) {
    done = parts[1] ? await resourcePage(main, section, parts[1]) : await resourcesPage(main, section);
  } else {
    put(main, problem({ message: `There is no page ${location.hash}.` }));
  }
  if (mine === generation) leave = done;
  else done(); // the address changed meanwhile: that page is already gone
}

window.addEventListener("stigmer:signin", () => {
  info = null;
  if (!document.getElementById("login")) {
    leave();
    leave = loginPage(false);
  }
});
window.addEventListener("hashchange", route);
route();
