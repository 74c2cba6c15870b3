import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/auth.guard';

/**
 * `GET /dashboard`: a page for dashboard screens and staff. It holds no data itself: it asks
 * `GET /v1/programmes/:id/dashboard` with the bearer token pasted into it (kept in the tab's
 * session storage only), so the API's roles and society scoping apply unchanged, and refreshes
 * every 30 seconds. Aggregates only, as the API gives them.
 */
@Public()
@ApiExcludeController()
@Controller('dashboard')
export class DashboardPageController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return PAGE;
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Programme dashboard</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d2330; }
  form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: 1.5rem; }
  label { display: flex; flex-direction: column; font-size: 12px; color: #555; }
  input, select, button { font: inherit; padding: .35rem .5rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .75rem; }
  .card { border: 1px solid #d6dae3; border-radius: 6px; padding: .75rem; }
  .card b { display: block; font-size: 1.6rem; }
  #status { color: #555; margin: .5rem 0 1rem; }
  #status.error { color: #a11; }
</style>
</head>
<body>
<h1>Programme dashboard</h1>
<form id="form">
  <label>Bearer token (dashboard, staff, admin or auditor)<input id="token" type="password" size="40" autocomplete="off" required></label>
  <label>Programme<select id="programme"></select></label>
  <label>Society (blank: all)<input id="society" size="6" pattern="[A-Z][A-Z0-9]{1,15}" placeholder="B33"></label>
  <button>Show</button>
</form>
<div id="status">Paste a token (npm run -s cli -- token --role dashboard) and press Show.</div>
<div id="cards" class="grid"></div>
<script>
const $ = (id) => document.getElementById(id);
const labels = [
  ['applications', 'Applications'], ['eligible', 'Eligible'], ['recommended', 'Recommended'],
  ['recommendationQuota', 'Recommendation quota'], ['matched', 'Matched'], ['enrolled', 'Enrolled'],
  ['active', 'Active'], ['completed', 'Completed'], ['withdrawn', 'Withdrawn'],
  ['behind', 'Behind pace'], ['atRisk', 'At risk'],
];
let timer;
$('token').value = sessionStorage.getItem('token') || '';
async function api(path) {
  const response = await fetch(path, { headers: { authorization: 'Bearer ' + $('token').value.trim() } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
  return body;
}
function card(label, value) {
  const div = document.createElement('div');
  div.className = 'card';
  const b = document.createElement('b');
  // null is a figure about too few people for this token to see (DASHBOARD_MIN_GROUP).
  b.textContent = value === null ? '–' : String(value);
  if (value === null) div.title = 'Hidden: about fewer people than the minimum group';
  div.append(b, document.createTextNode(label));
  return div;
}
async function show() {
  clearTimeout(timer);
  sessionStorage.setItem('token', $('token').value.trim());
  try {
    if ($('programme').options.length === 0) {
      for (const programme of (await api('/v1/programmes')).items) {
        $('programme').append(new Option(programme.name || programme.programmeId, programme.programmeId));
      }
    }
    const society = $('society').value.trim();
    const path = '/v1/programmes/' + encodeURIComponent($('programme').value) + '/dashboard' +
      (society ? '?society=' + encodeURIComponent(society) : '');
    const data = await api(path);
    const cards = labels.map(([key, label]) => card(label, data[key]));
    for (const [pillar, hours] of Object.entries(data.verifiedHours)) {
      if (pillar !== 'suppressed') cards.push(card('Verified hours: ' + pillar, hours));
    }
    $('cards').replaceChildren(...cards);
    $('status').className = '';
    $('status').textContent = (data.society ? 'Society ' + data.society : 'All societies') + ' · updated ' + new Date().toLocaleTimeString();
    timer = setTimeout(show, 30000);
  } catch (error) {
    $('status').className = 'error';
    $('status').textContent = error.message;
  }
}
$('form').addEventListener('submit', (event) => { event.preventDefault(); show(); });
if ($('token').value) show();
</script>
</body>
</html>
`;
