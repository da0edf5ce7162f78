// The live feed (EventSource reconnects by itself) and the upload form.
const tick = document.getElementById("tick");
const feed = new EventSource("/events");
feed.addEventListener("tick", (e) => {
  const d = JSON.parse(e.data);
  tick.textContent = `event ${d.n}, ${d.uploads} upload(s) so far`;
});

const form = document.getElementById("upload");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await fetch("/upload", { method: "POST", body: new FormData(form) });
  document.getElementById("result").textContent = JSON.stringify(await r.json(), null, 2);
});
