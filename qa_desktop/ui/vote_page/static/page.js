// The room vote page. Everything from the server is set with textContent, never as markup.
"use strict";

const $ = (id) => document.getElementById(id);
let state = null;
let socket = null;

function say(text, ok) {
  $("message").textContent = text || "";
  $("message").className = ok ? "ok" : "";
}

async function call(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  if (!response.ok) {
    const error = new Error(data.message || ("error " + response.status));
    error.status = response.status;
    throw error;
  }
  return data;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function choice(type, name, value, text, detail, checked) {
  const label = element("label", undefined, "choice");
  const input = document.createElement("input");
  input.type = type;
  input.name = name;
  input.value = value;
  input.checked = checked;
  label.append(input, element("span", text));
  if (detail) label.append(element("small", detail));
  return label;
}

function render(next) {
  const moved = !state || state.case_id !== next.case_id;
  state = next;
  $("join").hidden = true;
  $("vote").hidden = false;
  $("who").textContent = "Voting as " + next.you + " in " + next.session;
  $("case-id").textContent = next.case_id;
  $("position").textContent = "(" + next.position + " of " + next.cases + ")";
  let status = next.voted + " of " + next.participants + " voted";
  if (next.status === "revealed") status += " - revealed";
  if (next.status === "ruled") status += " - ruled";
  $("status").textContent = status;
  $("your-vote").textContent = next.your_vote ? "Your vote: " + next.your_vote : "You have not voted on this case.";

  const open = next.status === "open";
  if (moved) {
    const labels = $("labels");
    labels.replaceChildren(element("legend", "Label"));
    for (const label of next.labels) {
      labels.append(choice("radio", "label", label.id, label.name, label.id, label.id === next.your_vote));
    }
    const sections = $("sections");
    sections.replaceChildren();
    for (const section of next.sections) {
      sections.append(choice("checkbox", "section", section.id, section.id, section.title, false));
    }
    $("section-filter").value = "";
  }
  for (const input of $("ballot").querySelectorAll("input, button")) input.disabled = !open;
  $("vote-button").textContent = next.your_vote ? "Change vote" : "Vote";

  $("revealed").hidden = !next.distribution;
  const list = $("distribution");
  list.replaceChildren();
  for (const row of next.distribution || []) {
    list.append(element("li", row.label + ": " + row.votes));
  }
  $("ruled").hidden = !next.ruling;
  if (next.ruling) {
    const cited = next.ruling.citations.length ? " (cites " + next.ruling.citations.join(", ") + ")" : "";
    $("ruling").textContent = next.ruling.label + cited;
  }
}

function listen(port) {
  if (socket) return;
  socket = new WebSocket("ws://" + location.hostname + ":" + port + "/");
  socket.onmessage = (event) => {
    try { render(JSON.parse(event.data)); } catch (e) { /* a bad message changes nothing */ }
  };
  socket.onclose = () => {
    socket = null;
    setTimeout(refresh, 2000);
  };
}

async function refresh() {
  try {
    const next = await call("GET", "/api/state");
    render(next);
    listen(next.ws_port);
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      $("join").hidden = false;
      $("vote").hidden = true;
    } else {
      say(error.message);
      setTimeout(refresh, 3000);
    }
  }
}

$("join").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("code").value;
  const name = $("name").value.trim();
  try {
    const answer = await call("POST", "/api/join", { code, name });
    if (answer.participants) {
      const people = $("people");
      people.replaceChildren();
      for (const person of answer.participants) {
        const option = document.createElement("option");
        option.value = person;
        people.append(option);
      }
      say("Code accepted. Pick or type your name: " + answer.participants.join(", "), true);
      $("name").focus();
      return;
    }
    say("Joined as " + answer.name + ".", true);
    await refresh();
  } catch (error) {
    say(error.message);
  }
});

$("ballot").addEventListener("submit", async (event) => {
  event.preventDefault();
  const picked = $("ballot").querySelector("input[name=label]:checked");
  if (!picked) { say("Pick a label first."); return; }
  const citations = Array.from($("ballot").querySelectorAll("input[name=section]:checked"), (box) => box.value);
  try {
    const next = await call("POST", "/api/vote", { case_id: state.case_id, label: picked.value, citations });
    render(next);
    say("Vote recorded: " + picked.value + ".", true);
  } catch (error) {
    say(error.message);
    refresh();
  }
});

$("section-filter").addEventListener("input", () => {
  const words = $("section-filter").value.toLowerCase();
  for (const row of $("sections").children) {
    row.hidden = words !== "" && !row.textContent.toLowerCase().includes(words);
  }
});

refresh();
