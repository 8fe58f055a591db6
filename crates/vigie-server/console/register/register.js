// The public transparency register: fetches /api/register (no login) and shows it in French or English.

const T = {
  fr: {
    title: "Registre public de la vidéoprotection", other: "English", operator: "Exploitant",
    cameras: "Caméras et analyses actives", camera: "Caméra", place: "Lieu", purpose: "Finalité",
    analytics: "Analyses actives", authorisation: "Autorisation (référence, autorité, fin)", retention: "Conservation",
    days: "jours", signage: "Affichette", print: "imprimer", none: "aucune", undeclared: "non déclaré",
    rights: "Exercer vos droits", contact: "Contact", stats: "Statistiques mensuelles", month: "Mois",
    type: "Type d'événement", raised: "Alertes", confirmed: "Confirmées", dismissed: "Écartées",
    deletions: "Segments effacés", searches: "Recherches", exports: "Exports", accuracy: "Précision mesurée",
    decided: "Traitées", precision: "Précision", counting: "comptage (statistique)", generated: "Généré le",
    nodata: "Aucune donnée pour l'instant.", error: "Le registre n'a pas pu être chargé",
  },
  en: {
    title: "Public CCTV register", other: "Français", operator: "Operator",
    cameras: "Cameras and active analytics", camera: "Camera", place: "Place", purpose: "Purpose",
    analytics: "Active analytics", authorisation: "Authorisation (reference, authority, end)", retention: "Retention",
    days: "days", signage: "Signage", print: "print", none: "none", undeclared: "not declared",
    rights: "Exercising your rights", contact: "Contact", stats: "Monthly statistics", month: "Month",
    type: "Event type", raised: "Alerts", confirmed: "Confirmed", dismissed: "Dismissed",
    deletions: "Segments deleted", searches: "Searches", exports: "Exports", accuracy: "Measured accuracy",
    decided: "Decided", precision: "Precision", counting: "counting (statistics)", generated: "Generated",
    nodata: "No data yet.", error: "The register could not be loaded",
  },
};

let lang = localStorage.getItem("vigie.register.lang") || "fr";
let data = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return e;
}

const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const table = (head, rows) => el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
  el("tbody", {}, ...rows));

function render() {
  const t = T[lang];
  document.documentElement.lang = lang;
  document.title = t.title;
  document.getElementById("title").textContent = t.title;
  document.getElementById("lang").textContent = t.other;
  const main = document.getElementById("register");
  main.replaceChildren();
  if (!data) return;
  main.append(el("p", {}, `${t.operator}: `, el("strong", {}, data.operator ?? t.undeclared)));
  main.append(el("h2", {}, t.cameras));
  main.append(table([t.camera, t.place, t.purpose, t.analytics, t.authorisation, t.retention, t.signage],
    data.cameras.map((c) => el("tr", { "data-camera": c.name },
      el("td", {}, c.name),
      el("td", {}, c.place ?? t.undeclared),
      el("td", {}, c.purpose ?? t.undeclared),
      el("td", {}, c.analytics.length
        ? c.analytics.map((a) => a.authorisation ? a.event_type : `${a.event_type} — ${t.counting}`).join(", ")
        : t.none),
      el("td", {}, c.authorisations.length
        ? c.authorisations.map((a) => `${a.reference} (${a.authority}) → ${day(a.end_unix_ms)}`).join("; ")
        : t.none),
      el("td", { class: "num" }, `${c.retention_days} ${t.days}`),
      el("td", {}, el("a", { href: c.signage_url }, t.print))))));
  main.append(el("h2", {}, t.rights));
  main.append(el("p", {}, lang === "fr" ? data.rights.text_fr : data.rights.text_en));
  main.append(el("p", {}, `${t.contact}: `, el("strong", {}, data.rights.contact ?? t.undeclared)));
  main.append(el("h2", {}, t.stats));
  const rows = [];
  for (const m of data.statistics.months) {
    const alerts = m.alerts.length ? m.alerts : [{ event_type: "—", raised: 0, confirmed: 0, dismissed: 0 }];
    for (const a of alerts) {
      rows.push(el("tr", {}, el("td", {}, m.month), el("td", {}, a.event_type),
        el("td", { class: "num" }, String(a.raised)), el("td", { class: "num" }, String(a.confirmed)),
        el("td", { class: "num" }, String(a.dismissed)), el("td", { class: "num" }, String(m.recording_deletions)),
        el("td", { class: "num" }, String(m.searches)), el("td", { class: "num" }, String(m.exports))));
    }
  }
  main.append(rows.length
    ? table([t.month, t.type, t.raised, t.confirmed, t.dismissed, t.deletions, t.searches, t.exports], rows)
    : el("p", { class: "muted" }, t.nodata));
  main.append(el("h2", {}, t.accuracy));
  main.append(data.accuracy.length
    ? table([t.type, t.raised, t.decided, t.confirmed, t.precision], data.accuracy.map((a) => el("tr", {},
      el("td", {}, a.event_type), el("td", { class: "num" }, String(a.raised)),
      el("td", { class: "num" }, String(a.decided)), el("td", { class: "num" }, String(a.confirmed)),
      el("td", { class: "num" }, a.precision == null ? "—" : `${Math.round(a.precision * 100)} %`))))
    : el("p", { class: "muted" }, t.nodata));
  main.append(el("p", { class: "muted" }, `${t.generated} ${new Date(data.generated_unix_ms).toISOString()}`));
}

document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "fr" ? "en" : "fr";
  localStorage.setItem("vigie.register.lang", lang);
  render();
});

try {
  const r = await fetch("/api/register");
  if (!r.ok) throw new Error(`${r.status}`);
  data = await r.json();
  render();
} catch (e) {
  render();
  document.getElementById("register").append(el("p", {}, `${T[lang].error}: ${e.message}`));
}
