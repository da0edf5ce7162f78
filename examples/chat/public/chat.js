// The browser side of examples/chat: log in (the server sets an HttpOnly
// cookie holding a JWT, sent with the WebSocket handshake), join a room,
// send and show messages. Messages are JSON objects with a `type`.
const $ = (id) => document.getElementById(id);
let socket = null;

function show(text, meta, nick) {
  const li = document.createElement("li");
  if (meta) li.className = "meta";
  if (nick) {
    const b = document.createElement("b");
    b.textContent = nick;
    li.appendChild(b);
  }
  li.appendChild(document.createTextNode(text));
  $("log").appendChild(li);
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await fetch("/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ nick: $("nick").value }),
  });
  if (!r.ok) return show("login failed: " + (await r.text()), true);
  $("me").textContent = (await r.json()).nick + " in";
  $("login").hidden = true;
  $("join").hidden = false;
});

$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  if (socket) socket.close(1000);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${proto}//${location.host}/rooms/${encodeURIComponent($("room").value)}`);
  socket.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === "welcome") show(`you joined ${m.room} (${m.members} here)`, true);
    else if (m.type === "joined") show(`${m.nick} joined (${m.members} here)`, true);
    else if (m.type === "left") show(`${m.nick} left (${m.members} here)`, true);
    else if (m.type === "said") show(m.text, false, m.nick);
  };
  socket.onopen = () => ($("say").hidden = false);
  socket.onclose = (ev) => {
    $("say").hidden = true;
    show(`disconnected (${ev.code})`, true);
  };
});

$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  socket.send(JSON.stringify({ type: "say", text: $("text").value }));
  $("text").value = "";
});
