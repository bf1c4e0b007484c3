// The web inbox's page script (served by router.ts, same origin only): keeps the page live from its
// event stream and sends its forms as JSON, so nothing reloads. Every form also works without it.

(() => {
  const told = document.querySelector("[data-told]");
  const say = (text) => {
    if (told) told.textContent = text || "";
  };

  const fromHtml = (markup) => {
    const t = document.createElement("template");
    t.innerHTML = markup.trim();
    return t.content.firstElementChild;
  };

  // Where the keyboard was last: a pressed button is disabled while its form is sent (the browser
  // then drops focus to the page), and a message changed by the stream is replaced whole; either
  // way focus goes back to the same place, so a keyboard user does not start again from the top.
  let lastFocus = null;
  document.addEventListener("focusin", (e) => {
    lastFocus = e.target;
  });
  const focusLost = () => !document.activeElement || document.activeElement === document.body;
  const FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea";

  const place = (list, node, id) => {
    const old = document.getElementById(id);
    if (!old) {
      if (list) list.append(node);
      return;
    }
    const had = lastFocus && old.contains(lastFocus) && (focusLost() || old.contains(document.activeElement));
    const at = had ? [...old.querySelectorAll(FOCUSABLE)].indexOf(lastFocus) : -1;
    // What was being typed or picked in it (a comment's public reply) survives the replacement.
    for (const field of old.querySelectorAll("input[id], select[id], textarea[id]")) {
      const twin = field.value && node.querySelector(`#${CSS.escape(field.id)}`);
      if (twin && twin.tagName === field.tagName) twin.value = field.value;
    }
    old.replaceWith(node);
    if (had) (node.querySelectorAll(FOCUSABLE)[at] ?? node.querySelector(FOCUSABLE))?.focus();
  };

  const root = document.querySelector("[data-stream]");
  if (root && "EventSource" in window) {
    const source = new EventSource(root.getAttribute("data-stream"));
    const posts = document.querySelector("[data-posts]");
    const threads = document.querySelector("[data-threads]");
    source.addEventListener("post", (e) => {
      const d = JSON.parse(e.data);
      if (posts) place(posts, fromHtml(d.html), `post-${d.id}`);
      else if (threads && d.item) {
        const item = fromHtml(d.item);
        document.getElementById(`thread-${d.id}`)?.remove();
        threads.prepend(item);
        document.querySelector("[data-empty]")?.remove();
      }
    });
    source.addEventListener("activity", (e) => {
      const d = JSON.parse(e.data);
      const item = document.getElementById(`thread-${d.thread}`);
      if (item && threads) {
        threads.prepend(item);
        item.classList.add("fresh");
      }
    });
    source.addEventListener("gone", (e) => {
      const d = JSON.parse(e.data);
      document.getElementById(`post-${d.id}`)?.remove();
      document.getElementById(`thread-${d.id}`)?.remove();
    });
    source.addEventListener("told", (e) => say(JSON.parse(e.data).text));
    source.addEventListener("signedout", () => {
      source.close();
      window.location.reload();
    });
  }

  const base64 = (file) =>
    new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-live")) return;
    const confirmText = form.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) {
      event.preventDefault();
      return;
    }
    event.preventDefault();
    const body = {};
    const data = new FormData(form);
    if (event.submitter?.name) data.set(event.submitter.name, event.submitter.value);
    for (const [key, value] of data) if (typeof value === "string") body[key] = value;
    const picker = form.querySelector("[data-files]");
    if (picker?.files?.length) {
      body.files = [];
      for (const f of picker.files)
        body.files.push({
          name: f.name,
          mimeType: f.type || "application/octet-stream",
          data: await base64(f),
        });
    }
    const buttons = form.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    try {
      // getAttribute: the buttons' forms hold a field named "action", which `form.action` returns.
      const res = await fetch(form.getAttribute("action"), {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      const answer = await res.json().catch(() => ({}));
      say(answer.told?.text ?? (res.ok ? "" : "That did not work. Reload the page and try again."));
      if (answer.told?.file) {
        const blob = new Blob([answer.told.file.content], { type: answer.told.file.mimeType });
        const link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = answer.told.file.name;
        link.click();
      }
      if (res.ok && form.hasAttribute("data-reset")) {
        form.reset();
        // Ready for the next message.
        form.querySelector("textarea, input[name=text]")?.focus();
      }
    } catch {
      say("The service could not be reached. Try again.");
    } finally {
      for (const b of buttons) b.disabled = false;
      if (focusLost() && lastFocus?.isConnected) lastFocus.focus();
    }
  });
})();
