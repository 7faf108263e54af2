// The items section: list, add, edit in place, delete.

import * as api from "./api.js";
import {
  announce,
  clearFieldErrors,
  cloneTemplate,
  formatPrice,
  onSubmit,
  reportError,
  whileBusy,
} from "./ui.js";

const PAGE_SIZE = 100; // the service's maximum page

/** `onChange(items)` runs whenever the list of items changes (the order form offers them). */
export function createItemsView({ onChange }) {
  const form = document.getElementById("item-form");
  const list = document.getElementById("item-list");
  const summary = document.getElementById("items-summary");
  const more = document.getElementById("more-items");
  const heading = document.getElementById("items-heading");

  let items = []; // in the service's order: oldest first
  let total = 0;
  const rows = new Map(); // item id -> <li>

  function changed() {
    summary.textContent =
      total === 0
        ? "No items yet. Add your first one above."
        : `${total} ${total === 1 ? "item" : "items"}${items.length < total ? `, ${items.length} shown` : ""}.`;
    more.hidden = items.length >= total;
    onChange([...items]);
  }

  function render(item) {
    let row = rows.get(item.id);
    if (!row) {
      row = cloneTemplate("item-template");
      row.dataset.id = String(item.id);
      wire(row, item.id);
      rows.set(item.id, row);
      list.append(row);
    }
    row.querySelector(".item-title").textContent = item.title;
    row.querySelector(".item-price").textContent = formatPrice(item.price);
    const description = row.querySelector(".item-description");
    description.textContent = item.description ?? "";
    description.hidden = !item.description;
    // Every row has an "Edit" and a "Delete": the title tells them apart for assistive technology.
    row.querySelector("[data-action=edit]").setAttribute("aria-label", `Edit ${item.title}`);
    row.querySelector("[data-action=delete]").setAttribute("aria-label", `Delete ${item.title}`);
    row.querySelector(".item-edit").setAttribute("aria-label", `Edit ${item.title}`);
  }

  function find(id) {
    return items.find((item) => item.id === id);
  }

  function wire(row, id) {
    const view = row.querySelector(".item-view");
    const editForm = row.querySelector(".item-edit");
    const editButton = row.querySelector("[data-action=edit]");

    function closeEditor() {
      clearFieldErrors(editForm);
      editForm.hidden = true;
      view.hidden = false;
      editButton.focus();
    }

    editButton.addEventListener("click", () => {
      const item = find(id);
      editForm.elements.title.value = item.title;
      editForm.elements.description.value = item.description ?? "";
      editForm.elements.price.value = item.price;
      view.hidden = true;
      editForm.hidden = false;
      editForm.elements.title.focus();
    });

    row.querySelector("[data-action=cancel]").addEventListener("click", closeEditor);
    editForm.addEventListener("keydown", (event) => {
      if (event.key === "Escape") closeEditor();
    });

    onSubmit(editForm, async (data) => {
      const updated = await api.updateItem(id, {
        title: data.get("title").trim(),
        description: data.get("description").trim() || null,
        price: data.get("price").trim(),
      });
      items = items.map((item) => (item.id === id ? updated : item));
      render(updated);
      closeEditor();
      announce(`Saved ${updated.title}`);
      changed();
    });

    const deleteButton = row.querySelector("[data-action=delete]");
    deleteButton.addEventListener("click", () =>
      whileBusy(row, async () => {
        const item = find(id);
        await api.deleteItem(id);
        // Focus goes where the user can carry on: the next item, else the previous, else the heading.
        const neighbour = row.nextElementSibling ?? row.previousElementSibling;
        row.remove();
        rows.delete(id);
        items = items.filter((other) => other.id !== id);
        total -= 1;
        (neighbour?.querySelector("[data-action=edit]") ?? heading).focus();
        announce(`Deleted ${item.title}`);
        changed();
      }).catch((error) => reportError(error)),
    );
  }

  onSubmit(form, async (data) => {
    const description = data.get("description").trim();
    const item = await api.createItem({
      title: data.get("title").trim(),
      price: data.get("price").trim(),
      ...(description ? { description } : {}),
    });
    items.push(item);
    total += 1;
    render(item);
    // Clear what was sent, but keep anything typed for the next item while this one was saving.
    for (const name of ["title", "description", "price"]) {
      const field = form.elements[name];
      if (field.value === data.get(name)) field.value = "";
    }
    form.elements.title.focus(); // ready for the next one
    announce(`Added ${item.title}`);
    changed();
  });

  more.addEventListener("click", async () => {
    try {
      const page = await api.listItems({ offset: items.length, limit: PAGE_SIZE });
      const firstNew = page.data.find((item) => !rows.has(item.id));
      for (const item of page.data) if (!rows.has(item.id)) items.push(item);
      page.data.forEach(render);
      total = page.count;
      rows.get(firstNew?.id)?.querySelector("[data-action=edit]").focus();
      changed();
    } catch (error) {
      reportError(error);
    }
  });

  return {
    async load() {
      const page = await api.listItems({ limit: PAGE_SIZE });
      this.reset();
      items = page.data;
      total = page.count;
      items.forEach(render);
      changed();
    },
    reset() {
      items = [];
      total = 0;
      rows.clear();
      list.replaceChildren();
      form.reset();
      clearFieldErrors(form);
    },
  };
}
