// The Circles playground page: fetch the state, draw it, send what the visitor does.
//
// Every text from the server is put into the page with textContent (through `el`),
// never as HTML: member words are shown exactly as typed and can never become markup.
"use strict";

const API = "/playground/api";
const COLOURS = { ana: "#e4572e", ben: "#17a398", chen: "#7a5af5", dara: "#f0a202" };

const ui = {
  member: localStorage.getItem("circles.member") || "ana",
  channel: localStorage.getItem("circles.channel") || "#circle",
  state: null,
  busy: false,
  expanded: new Set(), // thread roots opened by the visitor
  collapsed: new Set(), // thread roots closed by the visitor
  known: null, // refs already drawn, to mark what is new
  fresh: new Set(),
  replyingTo: null, // the bot DM the next DM replies to (a Slack DM thread, a Teams quote)
};

// --- DOM helpers ------------------------------------------------------------------------

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== "list") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const $ = (id) => document.getElementById(id);

// Bot text may mark commands with `backticks`: those become <code>, as on Slack.
function botText(text) {
  const parts = text.split("`");
  return parts.map((part, i) => (i % 2 ? el("code", {}, part) : part));
}

function spans(runs) {
  return runs.map((run) => {
    switch (run.kind) {
      case "authored":
        return el("span", { class: "authored" }, run.text);
      case "name":
        return el("span", { class: "name" }, run.text);
      case "strong":
        return el("strong", {}, botText(run.text));
      default:
        return botText(run.text);
    }
  });
}

function initials(name) {
  return (name || "?").trim().charAt(0).toUpperCase();
}

// People beyond the four get a colour of their own, the same on every visit.
function colourOf(id) {
  if (COLOURS[id]) return COLOURS[id];
  let hash = 0;
  for (const char of id || "") hash = (hash * 31 + char.charCodeAt(0)) % 360;
  return `hsl(${hash} 55% 45%)`;
}

function avatar(id, name) {
  const colour = colourOf(id);
  return el("span", { class: "avatar", style: `--tint:${colour}`, "aria-hidden": "true" }, initials(name));
}

function botAvatar() {
  return el("span", { class: "avatar bot", "aria-hidden": "true" });
}

// --- talking to the server --------------------------------------------------------------

async function call(path, body) {
  if (ui.busy) return;
  ui.busy = true;
  document.body.classList.add("busy");
  try {
    const response = await fetch(`${API}/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ member: ui.member, channel: ui.channel, ...body }),
    });
    const payload = await response.json();
    if (!response.ok) {
      toast(payload.error || `Something went wrong (${response.status}).`);
      return false;
    }
    show(payload);
    return true;
  } catch (error) {
    toast("The playground server did not answer. Is `circles serve` still running?");
    return false;
  } finally {
    ui.busy = false;
    document.body.classList.remove("busy");
  }
}

async function load() {
  const response = await fetch(stateUrl(ui.member));
  const payload = await response.json();
  if (!response.ok && ui.member !== "ana") {
    ui.member = "ana"; // a member remembered from another version of the playground
    localStorage.removeItem("circles.member");
    return load();
  }
  if (!response.ok) {
    toast(payload.error || `The playground did not load (${response.status}).`);
    return;
  }
  show(payload);
}

function stateUrl(member) {
  return `${API}/state?member=${encodeURIComponent(member)}&channel=${encodeURIComponent(ui.channel)}`;
}

function toast(message) {
  const box = $("toast");
  box.replaceChildren(...botText(message));
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 6000);
}

// --- drawing ----------------------------------------------------------------------------

function show(payload) {
  const previous = ui.state;
  const switched =
    previous && (previous.member !== payload.state.member || previous.channel.name !== payload.state.channel.name);
  ui.state = payload.state;
  ui.member = payload.state.member; // Ana again once a reset took a #cohort member away
  localStorage.setItem("circles.member", ui.member);
  ui.channel = payload.state.channel.name; // #circle again once a reset took the channel away
  localStorage.setItem("circles.channel", ui.channel);
  markFresh(payload.state, !previous || switched);
  const drafts = saveDrafts();
  drawClock(payload.state);
  drawPeople(payload.state);
  drawChannels(payload.state);
  drawPresets(payload.state);
  drawChannel(payload.state, previous && !switched ? previous : null);
  drawDms(payload.state, previous && !switched ? previous : null);
  drawActivity(payload.happened || []);
  restoreDrafts(drafts);
}

function allRefs(state) {
  const refs = [];
  for (const post of state.channel.posts) {
    refs.push(post.ref, ...post.replies.map((reply) => reply.ref));
  }
  refs.push(...state.dms.map((post) => post.ref));
  return refs;
}

function markFresh(state, reset) {
  const refs = allRefs(state);
  if (reset || !ui.known) {
    ui.known = new Set(refs);
    ui.fresh = new Set();
    return;
  }
  ui.fresh = new Set(refs.filter((ref) => !ui.known.has(ref)));
  refs.forEach((ref) => ui.known.add(ref));
}

function saveDrafts() {
  const drafts = {};
  for (const field of document.querySelectorAll("[data-draft]")) {
    if (field.value) drafts[field.dataset.draft] = field.value;
  }
  const focused = document.activeElement && document.activeElement.dataset.draft;
  return { drafts, focused };
}

function restoreDrafts({ drafts, focused }) {
  for (const field of document.querySelectorAll("[data-draft]")) {
    if (drafts[field.dataset.draft] !== undefined) field.value = drafts[field.dataset.draft];
    if (field.dataset.draft === focused) field.focus();
  }
}

function drawClock(state) {
  const clock = state.clock;
  $("clock-local").textContent = clock.local_label;
  const status = clock.working === null ? "" : clock.working ? "working hours" : "outside working hours";
  $("clock-detail").replaceChildren(
    el("span", {}, clock.zone.replace(/_/g, " ")),
    el("span", {}, `${clock.utc_label.split(", ")[1]} UTC`),
    status ? el("span", { class: clock.working ? "on" : "off", title: `Working hours: ${clock.hours}` }, status) : null,
  );
  const open = $("step-open");
  open.disabled = !clock.next_open;
  open.title = clock.next_open ? `To ${clock.next_open}` : "No session is scheduled";
  const close = $("step-close");
  close.disabled = !clock.next_close;
  close.title = clock.next_close ? `To ${clock.next_close}` : "No session is open";
}

function drawPeople(state) {
  const list = $("people");
  list.replaceChildren(
    ...state.members.filter((member) => member.cast).map((member) =>
      el(
        "button",
        {
          type: "button",
          class: "person",
          "aria-pressed": String(member.id === state.member),
          title: `${member.name} · ${member.tz}`,
          dataset: { member: member.id },
          onclick: () => switchTo(member.id),
        },
        avatar(member.id, member.name),
        el(
          "span",
          { class: "person-text" },
          el("span", { class: "person-name" }, member.name, member.role === "organiser" ? el("span", { class: "role" }, "organiser") : null),
          el(
            "span",
            { class: "person-zone" },
            member.local.split(", ")[1],
            el("span", { class: "city" }, ` · ${member.tz.split("/").pop().replace(/_/g, " ")}`),
          ),
        ),
        member.unread > 0 && member.id !== state.member ? el("span", { class: "badge", title: "New direct messages" }, member.unread) : null,
      ),
    ),
  );
  list.append(...morePeople(state));
  const me = state.members.find((member) => member.id === state.member);
  $("dm-title").replaceChildren(avatar(me.id, me.name), ` ${me.name}'s DMs with Circles`);
  $("dm-input").placeholder = `Message Circles as ${me.name}`;
  $("command-input").setAttribute("aria-label", `Command in ${state.channel.name}, as ${me.name}`);
}

// Everyone beyond the four (a cohort of two dozen) in one picker, with their unread DMs.
function morePeople(state) {
  const others = state.members.filter((member) => !member.cast);
  if (!others.length) return [];
  const acting = others.find((member) => member.id === state.member);
  const unread = others.filter((member) => member.id !== state.member).reduce((sum, member) => sum + member.unread, 0);
  const picker = el(
    "select",
    {
      id: "people-more",
      class: "people-more",
      "aria-label": "Act as someone else",
      onchange: (event) => event.target.value && switchTo(event.target.value),
    },
    el("option", { value: "" }, `${others.length} more people${unread ? ` · ${unread} unread` : ""}…`),
    others.map((member) =>
      el(
        "option",
        { value: member.id, selected: member.id === state.member },
        `${member.name} · ${member.local.split(", ")[1]} ${member.tz.split("/").pop().replace(/_/g, " ")}${
          member.unread > 0 && member.id !== state.member ? ` · ${member.unread} new` : ""
        }`,
      ),
    ),
  );
  return [el("div", { class: `people-more-box${acting ? " acting" : ""}` }, acting ? avatar(acting.id, acting.name) : null, picker)];
}

// The workspace's channels: #circle, #cohort once added, and each launched circle's home.
function drawChannels(state) {
  const nav = $("channels");
  nav.hidden = state.channels.length < 2;
  nav.replaceChildren(
    ...state.channels.map((channel) =>
      el(
        "button",
        {
          type: "button",
          class: "channel-tab",
          "aria-pressed": String(channel.name === state.channel.name),
          title: `${channel.members} ${channel.members === 1 ? "member" : "members"}`,
          dataset: { channel: channel.name },
          onclick: () => openChannel(channel.name),
        },
        channel.name,
        el("span", { class: "count" }, String(channel.members)),
      ),
    ),
  );
  const current = nav.querySelector('[aria-pressed="true"]');
  if (current && !nav.hidden) nav.scrollLeft = Math.max(0, current.offsetLeft - nav.offsetLeft - 16);
  $("channel-title").replaceChildren(el("span", { class: "hash" }, "#"), state.channel.name.slice(1));
}

function drawPresets(state) {
  const waiting = state.cohort.intakes;
  $("add-cohort").hidden = state.cohort.here;
  $("cohort-intakes").hidden = !waiting;
  $("cohort-intakes").textContent = `#cohort answers ${waiting} ${waiting === 1 ? "intake" : "intakes"}`;
}

function drawChannel(state, previous) {
  const circle = state.channel.circle;
  $("circle-info").textContent = circle
    ? [circle.name, circle.kind.replace(/-/g, " "), circle.open_session ? `session ${circle.open_session} open` : circle.status, circle.rhythm]
        .filter(Boolean)
        .join(" · ")
    : state.channel.name === "#circle"
      ? "No circle here yet: try “create My Circle”."
      : `${state.channels.find((channel) => channel.name === state.channel.name)?.members || 0} people, no circle.`;
  const feed = $("channel-feed");
  const atBottom = feed.scrollHeight - feed.scrollTop - feed.clientHeight < 40;
  const kickoffs = state.channel.posts.filter((post) => post.kind === "kickoff");
  const latest = kickoffs.length ? kickoffs[kickoffs.length - 1].ref : null;
  const items = state.channel.posts.map((post) => channelPost(post, post.ref === latest));
  if (!items.length) {
    items.push(el("li", { class: "empty" }, `Nothing in ${state.channel.name} yet.`));
  }
  feed.replaceChildren(...(state.channel.name === "#circle" ? [intro()] : []), ...items);
  const grew = !previous || state.channel.posts.length > previous.channel.posts.length;
  const fresh = [...feed.querySelectorAll(".fresh")].pop();
  if (grew || (atBottom && !fresh) || (fresh && feed.lastElementChild.contains(fresh))) {
    feed.scrollTop = feed.scrollHeight;
  } else if (fresh) {
    fresh.scrollIntoView({ block: "nearest" });
  }
}

function intro() {
  return el(
    "li",
    { class: "intro" },
    el("strong", {}, "Welcome to the playground. "),
    "This is the real Circles bot in a pretend workspace. Act as Ana, Ben, Chen or Dara, run ",
    el("code", {}, "/circle"),
    " commands here, answer DMs on the right, and move the clock to see prompts, nudges and summaries arrive. ",
    "To try a programme, add ",
    el("code", {}, "#cohort"),
    " (two dozen people in twelve time zones), then ",
    el("code", {}, "programme new Mentoring areas feedback, delegation, coaching, strategy"),
    " and ",
    el("code", {}, "programme invite #cohort"),
    ".",
  );
}

function channelPost(post, latest) {
  if (post.kind === "ephemeral") return ephemeral(post);
  const open = ui.expanded.has(post.ref) || (latest && !ui.collapsed.has(post.ref));
  const classes = ["post", post.kind === "kickoff" ? "kickoff" : "", ui.fresh.has(post.ref) ? "fresh" : ""];
  const item = el("li", { class: classes.filter(Boolean).join(" "), dataset: { ref: post.ref, kind: post.kind } });
  item.append(postHead(post), postBody(post));
  const threaded = post.kind === "kickoff" || post.kind === "ask" || post.replies.length;
  if (threaded) item.append(thread(post, open));
  return item;
}

function postHead(post) {
  const who = post.author
    ? [avatar(post.author.id, post.author.name), el("span", { class: "who" }, post.author.name)]
    : [botAvatar(), el("span", { class: "who" }, "Circles"), el("span", { class: "app" }, "app")];
  return el(
    "div",
    { class: "post-head" },
    ...who,
    el("time", {}, post.time),
    post.edited ? el("span", { class: "edited" }, "(edited)") : null,
  );
}

function postBody(post) {
  if (post.author) return el("div", { class: "post-body typed" }, post.text);
  return el("div", { class: "post-body" }, blocks(post.blocks, post.ref));
}

function thread(post, open) {
  const count = post.replies.length;
  const freshCount = post.replies.filter((reply) => ui.fresh.has(reply.ref)).length;
  const toggle = el(
    "button",
    {
      type: "button",
      class: "thread-toggle",
      "aria-expanded": String(open),
      onclick: () => {
        if (open) {
          ui.collapsed.add(post.ref);
          ui.expanded.delete(post.ref);
        } else {
          ui.expanded.add(post.ref);
          ui.collapsed.delete(post.ref);
        }
        show({ state: ui.state, happened: [] });
      },
    },
    el("span", { class: "chevron", "aria-hidden": "true" }),
    count ? `${count} ${count === 1 ? "reply" : "replies"}` : "Thread",
    freshCount ? el("span", { class: "badge" }, `${freshCount} new`) : null,
  );
  const box = el("div", { class: "thread" }, toggle);
  if (!open) return box;
  const replies = el(
    "ol",
    { class: "replies" },
    post.replies.map((reply) =>
      el(
        "li",
        { class: `reply${ui.fresh.has(reply.ref) ? " fresh" : ""}`, dataset: { ref: reply.ref } },
        postHead(reply),
        postBody(reply),
      ),
    ),
  );
  const me = ui.state.members.find((member) => member.id === ui.state.member);
  const input = el("input", {
    name: "text",
    maxLength: 4000,
    placeholder: `Reply in thread as ${me.name}`,
    "aria-label": `Reply in thread as ${me.name}`,
    dataset: { draft: `reply:${post.ref}` },
  });
  const form = el(
    "form",
    {
      class: "reply-form",
      autocomplete: "off",
      onsubmit: async (event) => {
        event.preventDefault();
        const text = input.value;
        if (!text.trim()) return;
        input.value = "";
        if (!(await call("reply", { thread: post.ref, text }))) input.value = text;
      },
    },
    avatar(me.id, me.name),
    input,
    el("button", { type: "submit" }, "Reply"),
  );
  box.append(replies, form);
  return box;
}

function ephemeral(post) {
  return el(
    "li",
    { class: `post ephemeral${ui.fresh.has(post.ref) ? " fresh" : ""}`, dataset: { ref: post.ref, kind: "ephemeral" } },
    el(
      "div",
      { class: "post-head" },
      botAvatar(),
      el("span", { class: "who" }, "Circles"),
      el("span", { class: "app" }, "app"),
      el("time", {}, post.time),
      el("span", { class: "only-you" }, el("span", { class: "eye", "aria-hidden": "true" }), "Only visible to you"),
    ),
    el("div", { class: "typed-command" }, "You ran ", el("code", {}, post.typed)),
    el("div", { class: "post-body" }, blocks(post.blocks, post.ref)),
  );
}

function blocks(list, ref) {
  return list.map((block) => {
    switch (block.type) {
      case "heading":
        return el("h3", { class: "b-heading" }, botText(block.text));
      case "paragraph":
        return el("p", { class: "b-paragraph" }, spans(block.spans));
      case "quote":
        return el("blockquote", { class: "b-quote" }, spans(block.spans));
      case "context":
        return el("p", { class: "b-context" }, spans(block.spans));
      case "fields":
        return el(
          "dl",
          { class: "b-fields" },
          block.items.map((item) => el("div", {}, el("dt", {}, item.label), el("dd", {}, spans(item.spans)))),
        );
      case "choices":
        return choices(block, ref);
      case "input":
        return textInput(block, ref);
      case "form":
        return formBlock(block, ref);
      case "document":
        return documentBlock(block);
      default:
        return null;
    }
  });
}

function choices(block, ref) {
  const anyChosen = block.choices.some((choice) => choice.chosen);
  return el(
    "div",
    { class: "b-choices" },
    block.choices.map((choice) =>
      el(
        "button",
        {
          type: "button",
          class: ["choice", choice.style || "", choice.chosen ? "chosen" : "", anyChosen && !choice.chosen ? "dim" : ""]
            .filter(Boolean)
            .join(" "),
          "aria-pressed": String(Boolean(choice.chosen)),
          onclick: () => call("choice", { post: ref, action: choice.action, value: choice.value }),
        },
        choice.chosen ? "✓ " : "",
        choice.label,
      ),
    ),
  );
}

function textInput(block, ref) {
  const area = el("textarea", {
    rows: 2,
    maxLength: 4000,
    placeholder: block.placeholder || "Type your answer",
    "aria-label": block.label,
    dataset: { draft: `form:${ref}:${block.action}` },
  });
  area.value = block.sent || block.initial || "";
  const form = el(
    "form",
    {
      class: `b-input${block.sent ? " sent" : ""}`,
      autocomplete: "off",
      onsubmit: async (event) => {
        event.preventDefault();
        if (!area.value.trim()) return;
        await call("form", { post: ref, action: block.action, value: block.value, text: area.value });
      },
    },
    el("label", {}, block.label, block.sent ? el("span", { class: "sent-mark" }, "✓ sent") : null),
    area,
    el("button", { type: "submit", class: "primary small" }, block.sent ? "Update" : "Send"),
  );
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) form.requestSubmit();
  });
  return form;
}

// A `Form`: every field at once, sent to the playground API as {field id: [values]}.
function formBlock(block, ref) {
  const readers = [];
  const fields = block.fields.map((field) => {
    const id = `f-${ref}-${field.id}`;
    let input;
    if (field.kind === "short" || field.kind === "long") {
      input = el(field.kind === "long" ? "textarea" : "input", {
        id,
        rows: 2,
        maxLength: 4000,
        placeholder: field.hint || "",
        required: field.required,
      });
      input.value = field.initial.join("\n");
      readers.push(() => [field.id, input.value.trim() ? [input.value] : []]);
    } else if (field.kind === "one") {
      input = el(
        "select",
        { id, required: field.required },
        el("option", { value: "" }, "—"),
        field.options.map((option) =>
          el("option", { value: option.value, selected: field.initial.includes(option.value) }, option.label),
        ),
      );
      readers.push(() => [field.id, input.value ? [input.value] : []]);
    } else {
      const boxes = field.options.map((option) =>
        el("input", { type: "checkbox", value: option.value, checked: field.initial.includes(option.value) }),
      );
      input = el(
        "div",
        { id, class: "b-picks", role: "group" },
        boxes.map((box, n) => el("label", {}, box, " ", field.options[n].label)),
      );
      readers.push(() => [field.id, boxes.filter((box) => box.checked).map((box) => box.value)]);
    }
    return el("div", { class: "b-field" }, el("label", { for: id }, field.label), input);
  });
  return el(
    "form",
    {
      class: "b-form",
      autocomplete: "off",
      onsubmit: async (event) => {
        event.preventDefault();
        const answers = Object.fromEntries(readers.map((read) => read()));
        await call("fields", { post: ref, action: block.action, value: block.value, answers });
      },
    },
    el("strong", {}, block.title),
    block.intro ? el("p", {}, block.intro) : null,
    fields,
    el("button", { type: "submit", class: "primary small" }, block.submit),
  );
}

function documentBlock(block) {
  const url = URL.createObjectURL(new Blob([block.content], { type: "text/plain" }));
  return el(
    "div",
    { class: "b-document" },
    el("a", { href: url, download: block.filename }, `⬇ ${block.filename}`),
    el("pre", {}, block.content),
  );
}

function drawDms(state, previous) {
  const feed = $("dm-feed");
  const items = state.dms.map((post) => {
    const mine = Boolean(post.author);
    const classes = ["dm", mine ? "mine" : "bot", ui.fresh.has(post.ref) ? "fresh" : ""];
    const replied = post.replying_to ? el("span", { class: "replied" }, `↩ ${replyLabel(state, post.replying_to)}`) : null;
    const reply = el("button", { type: "button", class: "link reply-to", title: "Reply to this message", onclick: () => replyTo(post) }, "↩ Reply");
    return el(
      "li",
      { class: classes.filter(Boolean).join(" "), dataset: { ref: post.ref } },
      mine ? el("div", { class: "bubble" }, replied, el("span", { class: "typed" }, post.text), el("time", {}, post.time)) : [postHead(post), postBody(post), reply],
    );
  });
  if (ui.replyingTo && !state.dms.some((post) => post.ref === ui.replyingTo)) replyTo(null);
  if (!items.length) {
    const me = state.members.find((member) => member.id === state.member);
    items.push(
      el("li", { class: "empty" }, `No messages yet. When a session opens, Circles writes to ${me.name} here, inside ${me.name}'s working hours.`),
    );
  }
  feed.replaceChildren(...items);
  if (!previous || state.dms.length !== previous.dms.length) feed.scrollTop = feed.scrollHeight;
  const unread = state.members.filter((member) => member.id !== state.member).reduce((sum, member) => sum + member.unread, 0);
  const freshDms = state.dms.filter((post) => ui.fresh.has(post.ref) && !post.author).length;
  const badge = $("tab-dms-badge");
  badge.hidden = !freshDms || document.body.classList.contains("show-dms");
  badge.textContent = freshDms ? String(freshDms) : "";
  document.body.dataset.unreadOthers = String(unread);
}

// The first line of a bot DM, to say which one a reply answers.
function replyLabel(state, ref) {
  const post = state.dms.find((candidate) => candidate.ref === ref);
  const heading = post && post.blocks.find((block) => block.type === "heading" || block.type === "paragraph");
  const text = heading ? (heading.text || (heading.spans || []).map((run) => run.text).join("")) : "";
  return text ? `in reply to “${text.split("\n")[0].slice(0, 60)}”` : "in reply";
}

function replyTo(post) {
  ui.replyingTo = post ? post.ref : null;
  $("dm-replying").hidden = !post;
  $("dm-replying-text").textContent = post ? `Replying to ${replyLabel(ui.state, post.ref).replace(/^in reply to /, "")}` : "";
  if (post) $("dm-input").focus();
}

function drawActivity(happened) {
  const box = $("activity");
  if (!happened.length) return;
  const names = Object.fromEntries(ui.state.members.map((member) => [member.id, member.name]));
  const count = happened.length;
  $("activity-title").textContent = `Just delivered: ${count} ${count === 1 ? "message" : "messages"}`;
  const shown = happened.slice(-8);
  $("activity-list").replaceChildren(
    ...(count > shown.length ? [el("li", { class: "more" }, `… and ${count - shown.length} earlier`)] : []),
    ...shown.map((item) => {
      const channel = item.channel || "#circle";
      const where = item.to === "dm" ? `DM → ${names[item.member] || item.member}` : item.to === "thread" ? `${channel} thread` : channel;
      return el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "activity-item",
            title: item.to === "dm" ? `Show ${names[item.member]}'s DMs` : "Show the channel",
            onclick: () =>
              item.to === "dm"
                ? item.member !== ui.member
                  ? switchTo(item.member, "dms")
                  : setTab("dms")
                : openChannel(channel),
          },
          el("time", {}, item.time.split(", ")[1] || item.time),
          el("span", { class: `where ${item.to}` }, where),
          el("span", { class: "title" }, item.edit ? `(edited) ${item.title}` : item.title),
        ),
      );
    }),
  );
  box.hidden = false;
}

// --- actions ----------------------------------------------------------------------------

async function switchTo(member, tab) {
  ui.member = member;
  localStorage.setItem("circles.member", member);
  const response = await fetch(stateUrl(member));
  if (response.ok) show(await response.json());
  if (tab) setTab(tab);
}

async function openChannel(name) {
  if (name !== ui.channel) {
    ui.channel = name;
    const response = await fetch(stateUrl(ui.member));
    if (response.ok) show(await response.json());
  }
  setTab("channel");
}

function setTab(tab) {
  if (tab === "dms") $("tab-dms-badge").hidden = true;
  document.body.classList.toggle("show-channel", tab === "channel");
  document.body.classList.toggle("show-dms", tab === "dms");
  $("tab-channel").setAttribute("aria-selected", String(tab === "channel"));
  $("tab-dms").setAttribute("aria-selected", String(tab === "dms"));
}

function wire() {
  for (const button of document.querySelectorAll("[data-step]")) {
    button.addEventListener("click", () => call("clock", { step: button.dataset.step }));
  }
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => setTab(button.dataset.tab));
  }
  const startAgain = async (question, blank) => {
    if (!confirm(question)) return;
    ui.expanded.clear();
    ui.collapsed.clear();
    ui.known = null;
    if (await call("reset", { blank })) $("activity").hidden = true;
  };
  $("reset").addEventListener("click", () =>
    startAgain("Start again? Everything in the playground is cleared and the ready-made circle comes back.", false),
  );
  $("reset-blank").addEventListener("click", () =>
    startAgain("Start with a blank playground? Everything is cleared: no circles at all, and the clock goes back to its start.", true),
  );
  $("add-cohort").addEventListener("click", () => call("cohort", {}));
  $("cohort-intakes").addEventListener("click", () => call("intakes", {}));
  $("activity-close").addEventListener("click", () => ($("activity").hidden = true));

  $("command-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("command-input");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    if (!(await call("command", { text, where: "channel" }))) input.value = text;
  });

  const dm = $("dm-input");
  const sendDm = async () => {
    const text = dm.value;
    if (!text.trim()) return;
    dm.value = "";
    grow(dm);
    const reply = ui.replyingTo ? { replying_to: ui.replyingTo } : {};
    if (await call("dm", { text, ...reply })) replyTo(null);
    else dm.value = text;
  };
  $("dm-replying-cancel").addEventListener("click", () => replyTo(null));
  $("dm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendDm();
  });
  dm.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      sendDm();
    }
  });
  dm.addEventListener("input", () => grow(dm));
}

function grow(area) {
  area.style.height = "auto";
  area.style.height = `${Math.min(area.scrollHeight, 160)}px`;
}

wire();
load();
