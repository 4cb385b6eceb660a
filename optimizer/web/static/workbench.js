// The workbench page: the status line from the server's events, the plan reloaded when a solve
// finishes, Plotly figures drawn from the plan's JSON, and tables sorted by a click on a heading.
(function () {
  "use strict";
  const sid = document.body.dataset.sid;
  htmx.config.responseHandling = [
    {code: "204", swap: false},
    {code: "[23]..", swap: true},
    {code: "[45]..", swap: true, error: false},
  ];
  let shown = -1;
  let loading = false;

  function loadPlan(revision) {
    if (loading) return;
    loading = true;
    htmx.ajax("GET", `/s/${sid}/plan`, {target: "#plan", swap: "innerHTML"}).then(() => {
      loading = false;
      const body = document.getElementById("plan-body");
      shown = body ? Number(body.dataset.revision) : revision;
      document.getElementById("plan").dataset.revision = String(shown);
    });
  }

  function showStatus(s) {
    const status = document.getElementById("status");
    const word = s.state === "solving" ? "solving" : s.state === "queued" ? "queued" : "ready";
    status.innerHTML = "";
    const state = document.createElement("span");
    state.className = `state state-${s.state}`;
    state.dataset.state = s.state;
    state.dataset.revision = String(s.revision);
    state.textContent = word;
    const line = document.createElement("span");
    line.id = "status-line";
    line.textContent = s.line;
    status.append(state, " ", line);
    document.getElementById("stop").disabled = s.state !== "solving";
    if (s.revision !== shown && s.revision > 0) loadPlan(s.revision);
  }

  function connect() {
    const events = new EventSource(`/s/${sid}/events`);
    events.onmessage = (e) => showStatus(JSON.parse(e.data));
    events.onerror = () => { events.close(); setTimeout(connect, 1000); };
  }

  function draw() {
    const data = document.getElementById("figures-data");
    if (!data) return;
    const figures = JSON.parse(data.textContent);
    for (const [name, fig] of Object.entries(figures)) {
      const div = document.getElementById(`figure-${name}`);
      if (div) Plotly.react(div, fig.data, fig.layout, {displaylogo: false, responsive: true});
    }
  }

  function sortable(root) {
    root.querySelectorAll("table.sortable th").forEach((th) => {
      if (th.dataset.bound) return;
      th.dataset.bound = "1";
      th.addEventListener("click", () => {
        const table = th.closest("table");
        const body = table.tBodies[0];
        const column = Array.from(th.parentNode.children).indexOf(th);
        const down = th.dataset.order !== "desc";
        th.parentNode.querySelectorAll("th").forEach((h) => delete h.dataset.order);
        th.dataset.order = down ? "desc" : "asc";
        const key = (row) => {
          const cell = row.children[column];
          const value = cell.dataset.value ?? cell.querySelector("input")?.value ?? cell.textContent.trim();
          const number = Number(String(value).replace(/[,%]/g, ""));
          return Number.isNaN(number) ? value : number;
        };
        const rows = Array.from(body.rows).sort((a, b) => {
          const x = key(a), y = key(b);
          const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
          return down ? -order : order;
        });
        rows.forEach((r) => body.appendChild(r));
      });
    });
  }

  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target.id === "plan") setTimeout(draw, 0);  // the numbers first, the figures a moment later
    sortable(e.detail.target);
  });
  sortable(document);
  connect();
})();
