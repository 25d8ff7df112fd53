/* DisplaySense dashboard: plain JavaScript, Chart.js from this project, data from this API. */
"use strict";

(() => {
  const KEY = "displaysense.apiKey"; // sessionStorage: gone when the tab closes
  // The API lives next to this page: /v1/ behind API Gateway, / behind a custom domain.
  const BASE = location.pathname.endsWith("/") ? location.pathname : `${location.pathname}/`;
  const DAY_MS = 86400000;
  const ATTENTION_LIMIT = 20; // rejected and failed videos listed, of each status
  const COLORS = ["#1f4e79", "#d9822b", "#23854a", "#8e44ad", "#b3261e", "#2a9d8f", "#7f8c8d", "#e9c46a"];
  const $ = (id) => document.getElementById(id);
  const state = { stores: [], charts: {}, cursor: null, seq: 0, renders: 0, prompts: 0, videoQuery: null, asking: null, moreLoading: false };
  // How API Gateway guards the data routes, written into the page by the API (DS_API_AUTH).
  const AUTH = (document.querySelector('meta[name="displaysense-auth"]') || { content: "API_KEY" }).content;
  const SIGNING_NEEDED =
    "This API is deployed with api_auth=IAM: its data routes accept only SigV4-signed requests, which a " +
    "browser page cannot make. Deploy the stack with api_auth=API_KEY (the default) to use the dashboard, " +
    "or serve it through a proxy that signs the requests.";

  class AuthError extends Error {}
  // API Gateway refused the request for want of a signature (api_auth=IAM): no key can help.
  class SigningError extends Error {}

  // --- API access, with the key asked once per browser session ---------------------------------

  async function api(path, params) {
    const url = new URL(BASE + path, location.origin);
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
    }
    const response = await fetch(url, {
      headers: { "x-api-key": sessionStorage.getItem(KEY) || "", Accept: "application/json" },
    });
    const body = await response.json().catch(() => null);
    if (response.status === 401 || response.status === 403) {
      // A refused key is API Gateway's {"message": "Forbidden"}; IAM's refusal of an unsigned
      // request says "Missing Authentication Token" (or names the signature).
      const message = body && typeof body.message === "string" ? body.message : "Forbidden";
      if (message !== "Forbidden") throw new SigningError(SIGNING_NEEDED);
      throw new AuthError("key refused");
    }
    if (!response.ok) {
      const error = body && body.error;
      const message = error ? `${error.parameter ? `${error.parameter}: ` : ""}${error.message}` : response.statusText;
      throw new Error(message);
    }
    return body;
  }

  function askKey(refused) {
    // Requests made at once share one dialog.
    if (!state.asking) state.asking = promptKey(refused).finally(() => (state.asking = null));
    return state.asking;
  }

  function promptKey(refused) {
    state.prompts += 1;
    document.body.dataset.keyPrompts = String(state.prompts);
    const dialog = $("key-dialog");
    $("key-error").hidden = !refused;
    $("key").value = "";
    dialog.showModal();
    return new Promise((resolve) => {
      const form = $("key-form");
      const done = (event) => {
        const key = $("key").value.trim();
        if (!key) {
          event.preventDefault();
          return;
        }
        form.removeEventListener("submit", done);
        sessionStorage.setItem(KEY, key);
        resolve();
      };
      form.addEventListener("submit", done);
    });
  }

  async function withKey(work) {
    let refused = false;
    for (;;) {
      if (!sessionStorage.getItem(KEY)) await askKey(refused);
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        sessionStorage.removeItem(KEY);
        refused = true;
      }
    }
  }

  // --- Formatting --------------------------------------------------------------------------------

  const count = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en"));
  const percent = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)} %`);
  const seconds = (s) => (s === null || s === undefined ? "–" : `${Number(s).toFixed(1)} s`);
  const signed = (x, digits) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`;

  const KPIS = {
    foot_traffic: { show: count, change: "relative" },
    impressions: { show: count, change: "relative" },
    engagement_rate: { show: percent, change: "points" },
    dwell_s_avg: { show: seconds, change: "relative" },
    attention_s_avg: { show: seconds, change: "relative" },
    mood_index: { show: (x) => (x === null || x === undefined ? "–" : signed(x, 2)), change: "absolute" },
  };

  function changeText(kind, now, before) {
    if (now === null || before === null || before === undefined) return ["no previous data", ""];
    if (kind === "relative") {
      if (before === 0) return ["no previous data", ""];
      const change = (now - before) / before;
      return [`${signed(change * 100, 1)} % vs previous period`, change > 0 ? "up" : change < 0 ? "down" : ""];
    }
    const diff = now - before;
    const text = kind === "points" ? `${signed(diff * 100, 1)} pp` : signed(diff, 2);
    return [`${text} vs previous period`, diff > 0 ? "up" : diff < 0 ? "down" : ""];
  }

  // The zone typed in is what the API is asked for: a name it does not know comes back as its
  // error, shown to the user, never silently replaced.
  const zone = () => $("tz").value.trim() || "UTC";

  function shownZone() {
    // For formatting dates in the page only, where the browser's zone names may differ.
    try {
      new Intl.DateTimeFormat("en", { timeZone: zone() });
      return zone();
    } catch {
      return "UTC";
    }
  }

  function localDate(iso, tz) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(
      new Date(iso),
    );
  }

  function localDateTime(iso, tz) {
    return new Intl.DateTimeFormat("en-GB", { timeZone: tz, dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
  }

  function addDays(isoDate, days) {
    return new Date(Date.parse(`${isoDate}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
  }

  function label(start, granularity) {
    // Bucket starts arrive in ISO 8601 with the zone's offset: their digits are local time already.
    if (granularity === "day") return start.slice(0, 10);
    if (granularity === "week") return `week of ${start.slice(0, 10)}`;
    return `${start.slice(5, 10)} ${start.slice(11, 16)}`;
  }

  // --- Filters -------------------------------------------------------------------------------------

  function option(select, value, text) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    select.append(element);
  }

  function currentStore() {
    return state.stores.find((s) => s.store === $("store").value);
  }

  function fillStores() {
    const select = $("store");
    select.replaceChildren();
    for (const store of state.stores) option(select, store.store, store.store === "_unassigned" ? "Unassigned uploads" : store.store);
    const first = state.stores.find((s) => s.store !== "_unassigned" && s.last_recorded_at) || state.stores[0];
    if (first) select.value = first.store;
  }

  function fillCameras() {
    const select = $("camera");
    select.replaceChildren();
    option(select, "", "All cameras");
    for (const camera of (currentStore() || { cameras: [] }).cameras) option(select, camera.camera, camera.camera);
  }

  function defaultRange() {
    // The week up to the store's latest footage: what a manager opening the page wants to see.
    const store = currentStore();
    const last = localDate(store && store.last_recorded_at ? store.last_recorded_at : new Date().toISOString(), shownZone());
    $("to").value = last;
    $("from").value = addDays(last, -6);
  }

  function fillSides() {
    const a = $("ab-a");
    const b = $("ab-b");
    for (const select of [a, b]) {
      select.replaceChildren();
      for (const store of state.stores) {
        option(select, store.store, `${store.store} (whole store)`);
        for (const camera of store.cameras) option(select, `${store.store}/${camera.camera}`, `${store.store} / ${camera.camera}`);
      }
    }
    const store = currentStore();
    if (!store) return;
    const cameras = store.cameras.map((c) => `${store.store}/${c.camera}`);
    a.value = cameras[0] || store.store;
    b.value = cameras[1] || store.store;
  }

  function granularity() {
    const chosen = $("granularity").value;
    if (chosen !== "auto") return chosen;
    const days = (Date.parse($("to").value) - Date.parse($("from").value)) / DAY_MS + 1;
    if (days <= 1) return "15m";
    if (days <= 14) return "hour";
    if (days <= 120) return "day";
    return "week";
  }

  function query() {
    return {
      from: $("from").value,
      to: $("to").value ? addDays($("to").value, 1) : "", // the To day is included
      granularity: granularity(),
      tz: zone(),
    };
  }

  // --- Rendering -----------------------------------------------------------------------------------

  function setStatus(text, isError) {
    const element = $("status");
    element.textContent = text;
    element.classList.toggle("error", Boolean(isError));
  }

  function renderKpis(totals, previous) {
    for (const article of document.querySelectorAll(".kpi")) {
      const name = article.dataset.kpi;
      const spec = KPIS[name];
      article.querySelector(".value").textContent = spec.show(totals[name]);
      const [text, direction] = changeText(spec.change, totals[name], previous ? previous[name] : null);
      const change = article.querySelector(".change");
      change.textContent = text;
      change.className = `change ${direction}`;
    }
  }

  function chart(id, config) {
    const existing = state.charts[id];
    if (existing) {
      existing.data = config.data;
      existing.update("none");
      return existing;
    }
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    state.charts[id] = new window.Chart($(id), config);
    return state.charts[id];
  }

  function breakdown(id, attribute, values, available, type) {
    const figure = document.querySelector(`figure[data-attribute="${attribute}"]`);
    figure.querySelector(".na").hidden = available;
    figure.querySelector(".canvas").hidden = !available;
    figure.dataset.available = String(available);
    // Not available: the API sends null rather than zeros.
    const shown = available && values ? values : {};
    const labels = Object.keys(shown);
    chart(id, {
      type,
      data: {
        labels,
        datasets: [{ label: attribute, data: labels.map((k) => shown[k]), backgroundColor: labels.map((_, i) => COLORS[i % COLORS.length]) }],
      },
      options: { plugins: { legend: { display: type === "doughnut" } } },
    });
  }

  function renderMetrics(metrics) {
    renderKpis(metrics.totals, metrics.previous ? metrics.previous.totals : null);
    const cameras = metrics.camera ? `camera ${metrics.camera}` : `${metrics.cameras.length} camera${metrics.cameras.length === 1 ? "" : "s"}`;
    $("range").textContent = `${metrics.from} → ${metrics.to} · ${metrics.granularity} buckets · ${metrics.tz} · ${cameras}`;
    const labels = metrics.series.map((b) => label(b.start, metrics.granularity));
    chart("chart-traffic", {
      type: "bar",
      data: {
        labels,
        datasets: [
          { type: "bar", label: "Foot traffic", data: metrics.series.map((b) => b.foot_traffic), backgroundColor: COLORS[0] },
          { type: "line", label: "Impressions", data: metrics.series.map((b) => b.impressions), borderColor: COLORS[1], backgroundColor: COLORS[1], pointRadius: 0 },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    chart("chart-occupancy", {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: "Mean", data: metrics.series.map((b) => b.occupancy_mean), borderColor: COLORS[2], backgroundColor: COLORS[2], pointRadius: 0 },
          { label: "Peak", data: metrics.series.map((b) => b.occupancy_peak), borderColor: COLORS[4], backgroundColor: COLORS[4], pointRadius: 0, stepped: true },
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
    const available = metrics.availability;
    breakdown("chart-gender", "gender", metrics.totals.gender, available.gender, "doughnut");
    breakdown("chart-age", "age", metrics.totals.age, available.age, "bar");
    breakdown("chart-mood", "mood", metrics.totals.mood, available.mood, "bar");
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    row.append(td);
    return td;
  }

  function videoRow(video, testid, tz) {
    const row = document.createElement("tr");
    row.dataset.testid = testid;
    row.dataset.status = video.status;
    row.dataset.videoId = video.video_id;
    row.dataset.camera = video.camera;
    cell(row, localDateTime(video.recorded_at, tz));
    cell(row, video.camera);
    const status = cell(row, "");
    const badge = document.createElement("span");
    badge.className = `badge ${video.status}`;
    badge.textContent = video.status;
    status.append(badge);
    return row;
  }

  function renderVideos(page, append) {
    const body = $("videos");
    if (!append) body.replaceChildren();
    const tz = shownZone();
    for (const video of page.videos) {
      const row = videoRow(video, "video-row", tz);
      cell(row, video.summary ? count(video.summary.foot_traffic) : "");
      cell(row, video.duration_s === null ? "" : seconds(video.duration_s));
      cell(row, video.reason || "", "reason");
      body.append(row);
    }
    if (!body.children.length) {
      const row = document.createElement("tr");
      cell(row, "No videos in this range.").colSpan = 6;
      body.append(row);
    }
    state.cursor = page.next_cursor;
    $("more").hidden = !state.cursor;
  }

  function renderAttention(pages) {
    // Rejected and failed uploads of the store whatever the chart's range: an upload with no
    // readable recording time is listed at its upload time, often after the footage shown.
    const videos = pages.flatMap((page) => page.videos).sort((a, b) => (a.recorded_at < b.recorded_at ? 1 : -1));
    const body = $("attention");
    body.replaceChildren();
    const tz = shownZone();
    for (const video of videos) {
      const row = videoRow(video, "attention-row", tz);
      cell(row, video.reason || "", "reason");
      body.append(row);
    }
    if (!videos.length) {
      const row = document.createElement("tr");
      cell(row, "No rejected or failed uploads.").colSpan = 4;
      body.append(row);
    }
    const more = pages.some((page) => page.next_cursor);
    $("attention-note").textContent = more ? `The latest ${ATTENTION_LIMIT} of each status; GET /videos?status= lists them all.` : "";
  }

  // --- Loading -------------------------------------------------------------------------------------

  async function load() {
    const seq = ++state.seq;
    const store = $("store").value;
    if (!store) {
      setStatus("No stores yet: upload footage to the drop folder.");
      document.body.dataset.state = "ready";
      return;
    }
    document.body.dataset.state = "loading";
    setStatus("Loading…");
    const camera = $("camera").value;
    try {
      const metrics = await withKey(() => api(`stores/${encodeURIComponent(store)}/metrics`, { ...query(), camera, previous: "true" }));
      if (seq !== state.seq) return; // a newer choice of filters is already loading
      const videoQuery = { store, camera, from: metrics.from, to: metrics.to, limit: 50 };
      const [videos, ...attention] = await Promise.all([
        withKey(() => api("videos", videoQuery)),
        ...["REJECTED", "FAILED"].map((status) => withKey(() => api("videos", { store, status, limit: ATTENTION_LIMIT }))),
      ]);
      if (seq !== state.seq) return;
      state.videoQuery = videoQuery;
      renderMetrics(metrics);
      renderVideos(videos, false);
      renderAttention(attention);
      setStatus("");
      state.renders += 1;
      document.body.dataset.renders = String(state.renders);
      document.body.dataset.state = "ready";
    } catch (error) {
      if (seq !== state.seq) return;
      setStatus(error.message, true);
      document.body.dataset.state = "error";
    }
  }

  async function moreVideos() {
    if (!state.cursor || !state.videoQuery || state.moreLoading) return;
    // The page asked for belongs to the list shown now: if the filters change before it arrives,
    // it is dropped rather than appended to the new list.
    const seq = state.seq;
    const request = { ...state.videoQuery, cursor: state.cursor };
    state.moreLoading = true;
    $("more").disabled = true;
    try {
      const page = await withKey(() => api("videos", request));
      if (seq !== state.seq) return;
      renderVideos(page, true);
    } catch (error) {
      if (seq === state.seq) setStatus(error.message, true);
    } finally {
      state.moreLoading = false;
      $("more").disabled = false;
    }
  }

  async function compare(event) {
    event.preventDefault();
    const result = $("ab-result");
    result.replaceChildren();
    result.dataset.state = "loading";
    try {
      const q = query();
      const answer = await withKey(() => api("compare", { a: $("ab-a").value, b: $("ab-b").value, from: q.from, to: q.to, tz: q.tz }));
      const box = (title, value, note) => {
        const div = document.createElement("div");
        const heading = document.createElement("span");
        heading.textContent = title;
        const strong = document.createElement("strong");
        strong.textContent = value;
        const small = document.createElement("small");
        small.textContent = note;
        div.append(heading, strong, small);
        result.append(div);
      };
      for (const [name, side] of [["A", answer.a], ["B", answer.b]]) {
        const [low, high] = side.credible_interval_95;
        box(`${name}: ${side.side}`, percent(side.engagement_rate), `${count(side.impressions)} of ${count(side.foot_traffic)} passes; 95 % CI ${percent(low)}–${percent(high)}`);
      }
      box("P(B better than A)", percent(answer.p_b_better), "posterior probability");
      box("Expected lift of B", answer.expected_lift === null ? "–" : `${signed(answer.expected_lift * 100, 1)} %`, "relative to A");
      result.dataset.state = "ready";
    } catch (error) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = error.message;
      result.append(p);
      result.dataset.state = "error";
    }
  }

  function signingNeeded() {
    document.body.dataset.auth = "IAM";
    setStatus(SIGNING_NEEDED, true);
    document.body.dataset.state = "error";
  }

  async function start() {
    $("key-dialog").addEventListener("cancel", (event) => event.preventDefault()); // the key is needed
    $("tz").value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    if (AUTH === "IAM") {
      signingNeeded();
      return;
    }
    try {
      state.stores = (await withKey(() => api("stores"))).stores;
    } catch (error) {
      if (error instanceof SigningError) {
        signingNeeded();
        return;
      }
      setStatus(error.message, true);
      document.body.dataset.state = "error";
      return;
    }
    fillStores();
    fillCameras();
    fillSides();
    defaultRange();
    $("store").addEventListener("change", () => {
      fillCameras();
      fillSides();
      defaultRange();
      load();
    });
    for (const id of ["camera", "from", "to", "granularity", "tz"]) $(id).addEventListener("change", load);
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    $("more").addEventListener("click", moreVideos);
    $("ab").addEventListener("submit", compare);
    await load();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
