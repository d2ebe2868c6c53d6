// The sandbox page: acts as one Slack user at a time, renders Block Kit, sends commands and clicks.
"use strict";

const state = {
  user: null, users: [], commands: [], conv: null, data: null, seen: {}, modal: null,
  emoji: {}, drawn: null, drawnAt: 0,
};
const ASSETS = "/sandbox/assets/";
// Redraw what has not changed this often all the same: "today", "5 minutes ago" move on.
const REDRAW_MS = 30000;
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const answer = await fetch("/sandbox/api/" + path, options);
  const doc = await answer.json().catch(() => ({ ok: false, error: "bad answer from the sandbox" }));
  if (!answer.ok || doc.ok === false) throw new Error(doc.error || answer.statusText);
  return doc;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Names as the workspace knows them now: Slack draws a mention from its id, the label is only
// a fallback for what the reader's workspace does not know.
function known(kind, id) {
  return state.data?.directory?.[kind]?.[id];
}

function userName(id) {
  const user = state.users.find((u) => u.id === id);
  return known("users", id) || (user ? user.name : undefined);
}

// Slack's mrkdwn: *bold*, _italic_, ~strike~, `code`, <url|label>, <@U…>, <#C…>, <!here>,
// <!date^…>, :emoji:, newlines. Markers count only at word edges, as in Slack: snake_case stays.
const MRKDWN = new RegExp([
  "<([^>]+)>", "`([^`]+)`", ":([a-z0-9_+'-]+):",
  "(?<![\\w*])\\*([^*\\n]+)\\*(?![\\w*])",
  "(?<![\\w_])_([^_\\n]+)_(?![\\w_])",
  "(?<![\\w~])~([^~\\n]+)~(?![\\w~])",
].join("|"), "g");

// A text: ```code blocks``` and "> " quoted lines first, then the inline markup of each part.
function mrkdwn(text) {
  const out = document.createDocumentFragment();
  const parts = text.split(/```/);
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      out.append(el("pre", {}, unescape(part.replace(/^\n|\n$/g, ""))));
      return;
    }
    const chunk = i % 2 === 1 ? "```" + part : part;
    let quote = null;
    chunk.split("\n").forEach((line, n, lines) => {
      const quoted = /^(&gt;|>) ?/.exec(line);
      if (quoted) {
        quote = quote || out.appendChild(el("blockquote"));
        if (quote.childNodes.length) quote.append("\n");
        quote.append(inline(line.slice(quoted[0].length)));
        return;
      }
      quote = null;
      out.append(inline(line));
      if (n < lines.length - 1 && !/^(&gt;|>)/.test(lines[n + 1] ?? "")) out.append("\n");
    });
  });
  return out;
}

function inline(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(MRKDWN)) {
    out.append(plainText(unescape(text.slice(last, match.index))));
    last = match.index + match[0].length;
    if (match[1] !== undefined) out.append(link(match[1]));
    else if (match[2] !== undefined) out.append(el("code", {}, unescape(match[2])));
    else if (match[3] !== undefined) out.append(emoji(match[3]));
    else if (match[4] !== undefined) out.append(el("strong", {}, inline(match[4])));
    else if (match[5] !== undefined) out.append(el("em", {}, inline(match[5])));
    else if (match[6] !== undefined) out.append(el("s", {}, inline(match[6])));
  }
  out.append(plainText(unescape(text.slice(last))));
  return out;
}

function unescape(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// Emoji are pictures shipped with the page (assets/emoji), as Slack draws them: they show on a
// machine with no emoji font. A shortcode without a picture stays text, as in Slack.
function emojiPicture(code, name) {
  return el("img", { class: "emoji", src: `${ASSETS}emoji/${code}.svg`, alt: `:${name}:`, title: `:${name}:`, draggable: "false" });
}

function emoji(name) {
  const code = state.emoji.codes?.[name];
  return code ? emojiPicture(code, name) : document.createTextNode(`:${name}:`);
}

// Text with no markup, its emoji characters drawn as the pictures we have.
function plainText(text) {
  const chars = state.emoji.chars;
  if (!chars || !text) return document.createTextNode(text);
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(chars)) {
    const code = [...match[0].replace(/\uFE0F/g, "")].map((c) => c.codePointAt(0).toString(16)).join("-");
    out.append(text.slice(last, match.index), emojiPicture(code, state.emoji.names[code]));
    last = match.index + match[0].length;
  }
  out.append(text.slice(last));
  return out;
}

// A plain_text object: shortcodes become emoji unless it says "emoji": false.
function plainObject(obj) {
  const text = obj.text || "";
  if (obj.emoji === false) return document.createTextNode(text);
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(/:([a-z0-9_+'-]+):/g)) {
    out.append(plainText(text.slice(last, match.index)), emoji(match[1]));
    last = match.index + match[0].length;
  }
  out.append(plainText(text.slice(last)));
  return out;
}

async function loadEmoji() {
  const answer = await fetch(ASSETS + "emoji/shortcodes.json");
  const codes = await answer.json();
  const names = {};
  for (const [name, code] of Object.entries(codes)) names[code] ??= name;
  const glyphs = Object.keys(names)
    .map((code) => String.fromCodePoint(...code.split("-").map((hex) => parseInt(hex, 16))))
    .sort((a, b) => b.length - a.length)
    .map((glyph) => glyph.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\uFE0F?");
  state.emoji = { codes, names, chars: new RegExp(glyphs.join("|"), "gu") };
}

function viewerZone() {
  const me = (state.data?.users || state.users || []).find((u) => u.id === state.user);
  return me ? me.tz : undefined;
}

// Slack's <!date^seconds^format|fallback>: each reader sees the instant in their own zone.
function slackDate(seconds, format) {
  const at = new Date(seconds * 1000);
  const timeZone = viewerZone();
  const part = (options) => new Intl.DateTimeFormat("en-US", { timeZone, ...options }).format(at);
  const day = (d) => new Intl.DateTimeFormat("en-CA", { timeZone }).format(d);
  const pretty = (fallback) => {
    const today = Date.now();
    const names = { [day(new Date(today))]: "today", [day(new Date(today - 864e5))]: "yesterday",
      [day(new Date(today + 864e5))]: "tomorrow" };
    return names[day(at)] || fallback;
  };
  const short = part({ month: "short", day: "numeric", year: "numeric" });
  const long = part({ weekday: "long", month: "long", day: "numeric", year: "numeric" });
  const plain = part({ month: "long", day: "numeric", year: "numeric" });
  const minutes = Math.round((Date.now() - at) / 60000);
  const tokens = {
    date_num: day(at), date: plain, date_short: short, date_long: long,
    date_pretty: pretty(plain), date_short_pretty: pretty(short), date_long_pretty: pretty(long),
    time: part({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
    time_secs: part({ hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }),
    ago: minutes < 1 ? "just now" : minutes < 60 ? `${minutes} minutes ago` : `${Math.round(minutes / 60)} hours ago`,
  };
  return format.replace(/\{(\w+)\}/g, (all, name) => tokens[name] ?? all);
}

// What Slack draws for <…>: dates, mentions of people, channels and groups, special mentions, links.
function link(inner) {
  const bar = inner.indexOf("|");
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? "" : unescape(inner.slice(bar + 1));
  const date = /^!date\^(\d+)\^([^^]*)/.exec(target);
  if (date) return el("time", { title: label }, slackDate(Number(date[1]), date[2]));
  const mention = (text, kind) => el("span", { class: "mention", "data-mention": kind }, text);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return mention("@" + (userName(id) || label || id), "user");
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return mention("#" + (known("channels", id) || label || id), "channel");
  }
  if (target.startsWith("!subteam^")) {
    const id = target.slice("!subteam^".length);
    return mention("@" + (known("usergroups", id) || label.replace(/^@/, "") || id), "usergroup");
  }
  if (["!here", "!channel", "!everyone"].includes(target)) return mention("@" + target.slice(1), "special");
  if (/^(https?:\/\/|mailto:)/.test(target)) {
    return el("a", { href: unescape(target), target: "_blank", rel: "noopener" },
      label ? plainText(label) : unescape(target.replace(/^mailto:/, "")));
  }
  return document.createTextNode("<" + unescape(inner) + ">");
}

function textObject(obj) {
  if (!obj) return document.createTextNode("");
  return obj.type === "mrkdwn" ? mrkdwn(obj.text || "") : plainObject(obj);
}

function renderBlocks(blocks, context) {
  return blocks.map((block) => renderBlock(block, context));
}

function renderBlock(block, context) {
  switch (block.type) {
    case "header":
      return el("div", { class: "block header" }, textObject(block.text));
    case "divider":
      return el("hr", { class: "block divider" });
    case "context":
      return el("div", { class: "block context" },
        (block.elements || []).map((e) => el("span", {}, e.type === "image" ? emoji("frame_with_picture") : textObject(e))));
    case "section": {
      const fields = block.fields ? el("div", { class: "fields" }, block.fields.map((f) => el("div", {}, textObject(f)))) : null;
      const accessory = block.accessory ? renderElement(block.accessory, block, context) : null;
      return el("div", { class: "block section" }, el("div", { class: "text" }, textObject(block.text), fields), accessory);
    }
    case "actions":
      return el("div", { class: "block actions" }, (block.elements || []).map((e) => renderElement(e, block, context)));
    case "input":
      return renderInput(block, context);
    default:
      return el("div", { class: "block" }, `[${block.type} block]`);
  }
}

function renderElement(element, block, context) {
  if (element.type === "button") {
    const button = el("button", {
      type: "button", class: "bk " + (element.style || ""), "data-action-id": element.action_id,
    }, textObject(element.text));
    button.addEventListener("click", () => click(element, block, context, button));
    return button;
  }
  if (element.type === "overflow" || element.type === "static_select") {
    const select = el("select", { "data-action-id": element.action_id },
      el("option", { value: "" }, element.placeholder?.text || "Choose…"),
      (element.options || []).map((o) => el("option", { value: o.value }, o.text.text)));
    select.addEventListener("change", () => {
      const option = (element.options || []).find((o) => o.value === select.value);
      if (option) click({ ...element, selected_option: option }, block, context, select);
    });
    return select;
  }
  return el("span", {}, `[${element.type}]`);
}

async function click(element, block, context, node) {
  if (element.confirm && !(await confirmDialog(element.confirm))) return;
  node.disabled = true;
  try {
    await api("action", {
      user: state.user, channel: context.channel, ts: context.ts, view_id: context.viewId,
      action_id: element.action_id, block_id: block.block_id, value: element.value,
      selected_option: element.selected_option, action_type: element.type,
    });
    status("");
  } catch (error) {
    status(error.message);
  } finally {
    node.disabled = false;
    refresh();
  }
}

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const box = $("confirm");
    const done = (answer) => { $("confirm-backdrop").hidden = true; box.replaceChildren(); resolve(answer); };
    box.replaceChildren(
      el("h2", {}, textObject(confirm.title)),
      el("p", {}, textObject(confirm.text)),
      el("div", { class: "buttons" },
        el("button", { type: "button", class: "bk", onclick: () => done(false) }, textObject(confirm.deny || { text: "Cancel" })),
        el("button", { type: "button", class: "bk " + (confirm.style || "primary"), "data-confirm": "yes", onclick: () => done(true) },
          textObject(confirm.confirm || { text: "Yes" }))));
    $("confirm-backdrop").hidden = false;
  });
}

function renderInput(block, context) {
  const element = block.element || {};
  const id = `in-${block.block_id}-${element.action_id}`;
  let control;
  switch (element.type) {
    case "plain_text_input":
      control = element.multiline ? el("textarea", { id, rows: 3 }) : el("input", { id, type: "text" });
      if (element.initial_value) control.value = element.initial_value;
      if (element.max_length) control.maxLength = element.max_length;
      if (element.placeholder) control.placeholder = element.placeholder.text;
      break;
    case "datepicker":
      control = el("input", { id, type: "date" });
      if (element.initial_date) control.value = element.initial_date;
      break;
    case "static_select":
      control = el("select", { id }, el("option", { value: "" }, element.placeholder?.text || "Choose…"),
        (element.options || []).map((o) => el("option", { value: o.value }, o.text.text)));
      if (element.initial_option) control.value = element.initial_option.value;
      break;
    case "users_select":
    case "multi_users_select":
      control = el("select", { id, multiple: element.type === "multi_users_select" ? "" : undefined },
        element.type === "users_select" ? el("option", { value: "" }, "Choose a person…") : null,
        (state.data?.users || state.users).map((u) => el("option", { value: u.id }, u.name)));
      if (element.initial_user) control.value = element.initial_user;
      break;
    default:
      control = el("span", {}, `[${element.type}]`);
  }
  control.dataset.blockId = block.block_id;
  control.dataset.actionId = element.action_id;
  control.dataset.type = element.type;
  if (block.optional) control.dataset.optional = "";
  return el("div", { class: "input", "data-input-block": block.block_id },
    el("label", { for: id }, textObject(block.label), block.optional ? el("span", { class: "optional" }, " (optional)") : null),
    control,
    block.hint ? el("div", { class: "hint" }, textObject(block.hint)) : null,
    el("div", { class: "error", role: "alert" }));
}

function openModal(view, errors) {
  const form = $("modal");
  form.replaceChildren(
    el("h2", {}, textObject(view.title)),
    ...renderBlocks(view.blocks || [], { viewId: view.id }),
    el("div", { class: "buttons" },
      el("button", { type: "button", class: "bk", onclick: closeModal }, textObject(view.close || { text: "Cancel" })),
      view.submit ? el("button", { type: "submit", class: "bk primary" }, textObject(view.submit)) : null));
  form.onsubmit = (event) => { event.preventDefault(); submitModal(view); };
  showModalErrors(errors || {});
  state.modal = view.id;
  state.modalHash = view.hash;
  $("modal-backdrop").hidden = false;
}

// What the open form's inputs hold, by block and action id.
function typedValues() {
  const typed = {};
  for (const control of $("modal").querySelectorAll("[data-block-id]")) {
    const key = control.dataset.blockId + "/" + control.dataset.actionId;
    typed[key] = control.multiple ? [...control.selectedOptions].map((o) => o.value) : control.value;
  }
  return typed;
}

// After views.update Slack keeps what was typed in inputs whose block and action ids stayed.
function restoreTyped(typed) {
  for (const control of $("modal").querySelectorAll("[data-block-id]")) {
    const value = typed[control.dataset.blockId + "/" + control.dataset.actionId];
    if (value === undefined) continue;
    if (control.multiple) for (const option of control.options) option.selected = value.includes(option.value);
    else if (control.tagName !== "SELECT" || [...control.options].some((o) => o.value === value)) control.value = value;
  }
}

// Errors go next to their inputs; what was typed stays, as in Slack.
function showModalErrors(errors) {
  for (const input of $("modal").querySelectorAll("[data-input-block]")) {
    const error = input.querySelector(".error");
    error.textContent = errors[input.dataset.inputBlock] || "";
    input.classList.toggle("has-error", Boolean(error.textContent));
  }
}

// Slack's own client refuses an empty required input before the app hears of it.
function missingInputs() {
  const missing = {};
  for (const control of $("modal").querySelectorAll("[data-block-id]")) {
    if ("optional" in control.dataset) continue;
    const empty = control.multiple ? control.selectedOptions.length === 0 : !String(control.value || "").trim();
    if (empty) missing[control.dataset.blockId] = "Please complete this required field.";
  }
  return missing;
}

async function closeModal() {
  const viewId = state.modal;
  $("modal-backdrop").hidden = true;
  state.modal = null;
  if (viewId) await api("close", { user: state.user, view_id: viewId }).catch(() => {});
  refresh();
}

async function submitModal(view) {
  const values = {};
  for (const control of $("modal").querySelectorAll("[data-block-id]")) {
    const { blockId, actionId, type } = control.dataset;
    let value;
    if (type === "plain_text_input") value = { type, value: control.value };
    else if (type === "datepicker") value = { type, selected_date: control.value || null };
    else if (type === "static_select") {
      const option = control.value ? { value: control.value, text: { type: "plain_text", text: control.selectedOptions[0].text } } : null;
      value = { type, selected_option: option };
    } else if (type === "users_select") value = { type, selected_user: control.value || null };
    else if (type === "multi_users_select") value = { type, selected_users: [...control.selectedOptions].map((o) => o.value) };
    else continue;
    values[blockId] = { ...(values[blockId] || {}), [actionId]: value };
  }
  const missing = missingInputs();
  if (Object.keys(missing).length) { showModalErrors(missing); return; }
  try {
    const answer = await api("submit", { user: state.user, view_id: view.id, values });
    if (answer.errors) { showModalErrors(answer.errors); return; }
    $("modal-backdrop").hidden = true;
    state.modal = null;
    status("");
  } catch (error) {
    status(error.message);
  }
  refresh();
}

function status(text) { $("status").textContent = text; }

function conversations() {
  return state.data ? state.data.conversations : [];
}

function renderSidebar() {
  const make = (conv) => {
    const unread = conv.messages.length - (state.seen[conv.id] || 0);
    const label = conv.kind === "dm" ? conv.name : "#" + conv.name;
    return el("li", {}, el("button", {
      class: "conv" + (state.conv === conv.id ? " active" : ""), "data-conv": conv.id,
      onclick: () => { state.conv = conv.id; render(); },
    }, label, unread > 0 && state.conv !== conv.id ? el("span", { class: "badge" }, unread) : null));
  };
  $("channel-list").replaceChildren(...conversations().filter((c) => c.kind === "channel").map(make));
  $("dm-list").replaceChildren(...conversations().filter((c) => c.kind === "dm").map(make));
  $("home-tab").classList.toggle("active", state.conv === "home");
}

function renderPane() {
  const pane = $("messages");
  if (state.conv === "home") {
    $("pane-title").textContent = "Home";
    const home = state.data?.home;
    pane.replaceChildren(home ? el("div", {}, renderBlocks(home.blocks || [], { viewId: home.id }))
      : el("p", {}, "Nothing published yet."));
    return;
  }
  const conv = conversations().find((c) => c.id === state.conv);
  if (!conv) { pane.replaceChildren(); $("pane-title").textContent = ""; return; }
  $("pane-title").textContent = conv.kind === "dm" ? conv.name : "#" + conv.name;
  state.seen[conv.id] = conv.messages.length;
  if (!conv.messages.length) { pane.replaceChildren(firstVisit(conv)); return; }
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
  pane.replaceChildren(...conv.messages.map((m) => el("div", {
    class: "message" + (m.ephemeral ? " ephemeral" : ""), "data-ts": m.ts,
  },
  el("div", { class: "meta" }, m.ephemeral ? "Only visible to you · " : "", m.author || "Watchkeeper", " · ", m.time || "",
    m.edited ? el("span", { class: "edited" }, " (edited)") : null),
  m.blocks && m.blocks.length ? renderBlocks(m.blocks, { channel: conv.id, ts: m.ts }) : el("div", { class: "text" }, mrkdwn(m.text || "")))));
  if (atBottom) pane.scrollTop = pane.scrollHeight;
}

// What an empty conversation shows: where one is, and the command to start with.
function firstVisit(conv) {
  const where = conv.kind === "dm" ? `your direct messages with ${conv.name}` : `the #${conv.name} channel`;
  const command = (text) => el("button", {
    type: "button", class: "command", onclick: () => { $("command-input").value = text; $("command-input").focus(); },
  }, text);
  return el("div", { class: "first-visit", id: "first-visit" },
    el("p", {}, el("strong", {}, `This is the very beginning of ${where}.`)),
    el("p", {}, "Type ", command("/oncall"), " below to see who holds the pager now, or ",
      command("/oncall help"), " for every command: ",
      state.commands.flatMap((c, i) => [i ? ", " : "", el("code", {}, c)]), "."));
}

// The phone of the person acted as: the wake-up pushes the bot sent them, links clickable (the
// acknowledge link opens the bot's page, as it would from a lock screen).
function renderPhone() {
  const me = state.users.find((u) => u.id === state.user);
  $("phone-title").textContent = (me ? me.name + "'s" : "Your") + " phone";
  const pushes = state.data?.phone || [];
  if (!pushes.length) {
    $("phone").replaceChildren(el("p", { class: "empty" }, "No wake-up yet: a critical alert for you wakes this phone."));
    return;
  }
  const linked = (line) => line.split(/(https?:\/\/\S+)/).map((part, i) => i % 2
    ? el("a", { href: part, target: "_blank", rel: "noopener" }, part) : part);
  $("phone").replaceChildren(...pushes.slice().reverse().map((p) => el("div", { class: "push" },
    el("div", { class: "title" }, p.title),
    el("div", { class: "body" }, p.message.split("\n").flatMap((line, i) => [i ? "\n" : "", ...linked(line)])))));
}

// What the page shows is drawn from these alone.
function drawnFrom() {
  return JSON.stringify([state.user, state.conv, state.data]);
}

function render() {
  state.drawn = drawnFrom();
  state.drawnAt = Date.now();
  renderSidebar();
  renderPane();
  renderPhone();
}

async function refresh() {
  const user = state.user;
  if (!user) return;
  let data;
  try {
    data = await api("state?user=" + encodeURIComponent(user));
  } catch (error) {
    status(error.message);
    return;
  }
  if (user !== state.user) return;  // an answer about someone we no longer act as
  state.data = data;
  if (state.conv === "dm") state.conv = conversations().find((c) => c.kind === "dm")?.id || null;
  if (state.conv !== "home" && !conversations().some((c) => c.id === state.conv)) {
    state.conv = conversations()[0]?.id || "home";
  }
  const modal = state.data.modal;
  if (modal && (state.modal !== modal.id || state.modalHash !== modal.hash)) {
    const typed = state.modal === modal.id ? typedValues() : null;
    openModal(modal, state.data.modal_errors);
    if (typed) restoreTyped(typed);
  }
  if (!state.data.modal && state.modal) { $("modal-backdrop").hidden = true; state.modal = null; }
  // Redraw only what changed: a picture or a menu drawn anew every second flickers.
  if (drawnFrom() !== state.drawn || Date.now() - state.drawnAt > REDRAW_MS) render();
}

async function start() {
  await loadEmoji().catch((error) => status("emoji: " + error.message));
  $("home-icon").replaceChildren(emoji("house"));
  const doc = await api("users");
  state.users = doc.users;
  state.commands = doc.commands;
  const select = $("user-select");
  select.replaceChildren(...doc.users.map((u) => el("option", { value: u.id }, `${u.name} (${u.tz}, ${u.locale})`)));
  state.user = doc.default_user || doc.users[0].id;
  select.value = state.user;
  select.addEventListener("change", async () => {
    // Channels are shared, DMs are not: someone reading their DM goes to the new user's.
    const wasDm = conversations().find((c) => c.id === state.conv)?.kind === "dm";
    state.user = select.value; state.data = null; state.seen = {}; state.modal = null;
    if (wasDm) state.conv = "dm";
    $("modal-backdrop").hidden = true;
    render();
    if (state.conv === "home") await api("home", { user: state.user }).catch((error) => status(error.message));
    refresh();
  });
  $("home-tab").addEventListener("click", async () => {
    state.conv = "home";
    await api("home", { user: state.user }).catch((error) => status(error.message));
    refresh();
  });
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("command-input");
    const line = input.value.trim();
    if (!line.startsWith("/")) { status("Type a slash command, e.g. /oncall"); return; }
    const space = line.indexOf(" ");
    const command = space < 0 ? line : line.slice(0, space);
    const text = space < 0 ? "" : line.slice(space + 1);
    // Slack's client knows the workspace's commands and refuses others without sending them.
    if (!state.commands.includes(command)) {
      status(`${command} is not a command of this app: try ${state.commands.join(", ")}`);
      return;
    }
    const channel = conversations().some((c) => c.id === state.conv) ? state.conv : null;
    try {
      await api("command", { user: state.user, channel, command, text });
      input.value = "";
      status("");
    } catch (error) {
      status(error.message);
    }
    refresh();
  });
  await refresh();
  setInterval(refresh, 1000);
}

start().catch((error) => status(error.message));
