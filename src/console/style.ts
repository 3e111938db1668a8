/**
 * The console's stylesheet, served from memory at /console/style.css (a TS string so `npm run
 * build` ships it without a copy step). System fonts, AA contrast, visible focus, laptop widths.
 */
export const CONSOLE_CSS = `
:root { color-scheme: light; --ink: #1d1c1d; --muted: #545454; --line: #d6d6d6; --brand: #3f0e40; --link: #0b57a4; --bad: #a4151b; --ok: #0b6e3a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
a { color: var(--link); }
:focus-visible { outline: 3px solid #1264a3; outline-offset: 2px; }
.skip-link { position: absolute; left: -9999px; }
.skip-link:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 10; }
header.top { display: flex; align-items: center; gap: 16px; padding: 10px 24px; background: var(--brand); color: #fff; }
header.top h1 { font-size: 18px; margin: 0; }
header.top .spacer { flex: 1; }
header.top nav { display: flex; gap: 16px; }
header.top nav a { color: #fff; }
header.top nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0 0 24px; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; }
td.details code { font-size: 13px; word-break: break-all; }
.outcome-failed { color: var(--bad); font-weight: 600; }
h2.subject { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
header.top button { background: transparent; color: #fff; border: 1px solid #fff; border-radius: 4px; padding: 4px 12px; font: inherit; cursor: pointer; }
main { padding: 16px 24px 40px; max-width: 1400px; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin: 0 0 16px; }
label { display: flex; flex-direction: column; font-weight: 600; font-size: 13px; gap: 4px; }
input, select { font: inherit; font-weight: 400; padding: 6px 8px; border: 1px solid #8d8d8d; border-radius: 4px; min-width: 12em; }
button.primary { background: #007a5a; color: #fff; border: 0; border-radius: 4px; padding: 8px 16px; font: inherit; font-weight: 700; cursor: pointer; }
caption { text-align: left; padding-bottom: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 13px; color: var(--muted); }
td.subject { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 14px; word-break: break-all; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; background: #eef1f5; font-weight: 600; font-size: 13px; }
.execution-failed, .execution-terminated, .execution-timed_out { color: var(--bad); font-weight: 600; }
.execution-running { color: var(--ok); }
.empty, .note { color: var(--muted); }
.error { color: var(--bad); font-weight: 600; }
.login { max-width: 420px; margin: 10vh auto; padding: 24px; border: 1px solid var(--line); border-radius: 8px; }
.login h1 { margin-top: 0; font-size: 22px; }
.login form { display: flex; flex-direction: column; gap: 16px; }
button.secondary { background: #fff; color: var(--ink); border: 1px solid #616061; border-radius: 4px; padding: 4px 12px; font: inherit; font-weight: 600; cursor: pointer; }
.ok { color: var(--ok); font-weight: 600; }
ul.plain { list-style: none; margin: 0; padding: 0; }
.notice { padding: 8px 12px; border: 1px solid var(--line); border-radius: 4px; background: #f8f8f8; }
`;
