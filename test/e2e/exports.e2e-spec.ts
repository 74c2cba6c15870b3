import ExcelJS from 'exceljs';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { enrolParticipant } from '../support/participants';

const P = 'cast-dtdp-2025';
// Names are single-line (docs/API.md: line breaks only in multi-line texts): the line break
// travels in a rejection reason, which the timeline's summary quotes.
const NAME = 'Wang, "Xiao" Ming 王小明';
const REASON = 'Certificate missing, "signed" copy needed:\n证书缺失，请补交';
const TITLE = '=HYPERLINK("http://evil.example","click")';

/** RFC 4180 records (quoted fields may hold commas, doubled quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else field += char;
  }
  return records;
}

type Row = {
  participantId: string;
  fullName: string | null;
  societyCode: string;
  status: string;
  verifiedHours: { political: number; professional: number; social: number; total: number };
  pendingHours: number;
  requiredHours: number;
  percentComplete: number;
  expectedHoursToDate: number;
  pace: string;
  projectedCompletionDate: string | null;
  lastActivityOn: string | null;
  position: number;
};
type Item = {
  position: number;
  type: string;
  occurredOn?: string;
  recordedAt: string;
  actor: { sub: string; role: string };
  summary: string;
  data: Record<string, unknown>;
};

// What each exported row must say, from the JSON answer (same order as the columns).
const participantCells = (row: Row) => [
  row.participantId,
  row.fullName,
  row.societyCode,
  row.status,
  row.verifiedHours.political,
  row.verifiedHours.professional,
  row.verifiedHours.social,
  row.verifiedHours.total,
  row.pendingHours,
  row.requiredHours,
  row.percentComplete,
  row.expectedHoursToDate,
  row.pace,
  row.projectedCompletionDate,
  row.lastActivityOn,
  row.position,
];
const timelineCells = (item: Item) => [
  item.position,
  item.type,
  item.occurredOn ?? null,
  item.recordedAt,
  item.actor.role,
  item.actor.sub,
  item.summary,
  typeof item.data.title === 'string' ? item.data.title : null,
  typeof item.data.hours === 'number' ? item.data.hours : null,
  typeof item.data.pillar === 'string' ? item.data.pillar : null,
  JSON.stringify(item.data),
];
// As CSV text: numbers as JavaScript writes them, null empty, formulas neutralised.
const asCsv = (cells: Array<string | number | null>) =>
  cells.map((cell) =>
    cell === null
      ? ''
      : typeof cell === 'number'
        ? String(cell)
        : /^[=+\-@\t\r]/.test(cell)
          ? `'${cell}`
          : cell,
  );

describe.each<StoreKind>(['sqlite', 'postgres'])('exports for staff (%s)', (kind) => {
  let t: TestApp;
  let ids: string[];
  let position: number;
  beforeAll(async () => {
    t = await startApp(await freshEnv(kind));
    const named = await enrolParticipant(t, {
      sub: 'student-1',
      today: '2025-11-10T10:00:00+08:00',
      form: { fullName: NAME },
    });
    const other = await enrolParticipant(t, {
      sub: 'student-2',
      today: '2026-07-02T10:00:00+08:00',
    });
    ids = [named, other];
    const staff = await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });
    const post = (url: string, payload: unknown = {}) =>
      t.request({
        method: 'POST',
        url,
        headers: { ...staff, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
    const logged = await post(`/v1/participants/${named}/activities`, {
      pillar: 'professional',
      category: 'international_conference',
      title: TITLE,
      occurredOn: '2026-04-20',
      hours: 12.5,
    });
    expect(logged.statusCode).toBe(201);
    const { activityId } = logged.json<{ activityId: string }>();
    const verified = await post(`/v1/participants/${named}/activities/${activityId}/verification`);
    expect(verified.statusCode).toBe(200);
    const second = await post(`/v1/participants/${named}/activities`, {
      pillar: 'social',
      category: 'other_social',
      title: 'Science day',
      occurredOn: '2026-05-02',
      hours: 4,
    });
    const rejected = await post(
      `/v1/participants/${named}/activities/${second.json<{ activityId: string }>().activityId}/rejection`,
      { reason: REASON },
    );
    expect(rejected.statusCode).toBe(200);
    position = rejected.json<{ position: number }>().position;
  });
  afterAll(() => t.close());

  const get = async (url: string, headers?: Record<string, string>) =>
    t.request({ method: 'GET', url, headers: headers ?? (await t.auth('programme_admin')) });

  it('participants.csv: BOM, as of position and export time, the same rows as the JSON list', async () => {
    const json = await get(`/v1/programmes/${P}/participants?minPosition=${position}&limit=500`);
    const rows = json.json<{ items: Row[] }>().items;
    expect(rows).toHaveLength(2);
    const response = await get(`/v1/programmes/${P}/participants.csv?minPosition=${position}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="participants-cast-dtdp-2025-position-\d+\.csv"$/,
    );
    expect(response.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const records = parseCsv(response.body.replace(/^\uFEFF/, ''));
    const [asOf, exportedAt, header, ...data] = records;
    expect(asOf![0]).toBe('as of position');
    expect(Number(asOf![1])).toBeGreaterThanOrEqual(position);
    expect(exportedAt!.slice(0, 2)).toEqual(['exported at', t.clock.now().toISOString()]);
    // Every record has as many fields as the header (RFC 4180).
    for (const record of records) expect(record).toHaveLength(header!.length);
    expect(header).toEqual([
      'participantId',
      'fullName',
      'societyCode',
      'status',
      'verifiedPolitical',
      'verifiedProfessional',
      'verifiedSocial',
      'verifiedTotal',
      'pendingHours',
      'requiredHours',
      'percentComplete',
      'expectedHoursToDate',
      'pace',
      'projectedCompletionDate',
      'lastActivityOn',
      'position',
    ]);
    expect(data).toEqual(rows.map((row) => asCsv(participantCells(row))));
    // A name with a comma, quotes, a line break and Chinese characters comes back as it went in.
    expect(data.find((record) => record[0] === ids[0])![1]).toBe(NAME);
  });

  it('participants.xlsx: read back with exceljs, the same figures as the JSON list', async () => {
    const rows = (
      await get(`/v1/programmes/${P}/participants?minPosition=${position}&limit=500`)
    ).json<{ items: Row[] }>().items;
    const response = await get(`/v1/programmes/${P}/participants.xlsx?society=B33`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('Participants')!;
    const values = sheet
      .getSheetValues()
      .slice(1)
      .map((row) =>
        Array.isArray(row) ? Array.from(row.slice(1), (cell: unknown) => cell ?? null) : [],
      );
    expect(values[0]![0]).toBe('as of position');
    expect(values[0]![1]).toBeGreaterThanOrEqual(position);
    expect(values[1]).toEqual(['exported at', t.clock.now().toISOString()]);
    const data = values
      .slice(3)
      .map((cells) => [...cells, ...Array<null>(16 - cells.length).fill(null)]);
    expect(data).toEqual(rows.map(participantCells));
  });

  it('timeline.csv and .xlsx: the JSON timeline, titles starting with = neutralised in CSV; asOf/knownAt as on the JSON route', async () => {
    const id = ids[0]!;
    for (const query of [
      '',
      `?knownAt=${encodeURIComponent('2026-07-02T10:00:00+08:00')}`,
      '?asOf=2026-03-01',
    ]) {
      const items: Item[] = [];
      let cursor: string | null = null;
      do {
        const sep = query ? '&' : '?';
        const page: { items: Item[]; nextCursor: string | null } = (
          await get(
            `/v1/participants/${id}/timeline${query}${cursor ? `${sep}cursor=${cursor}` : ''}`,
          )
        ).json<{ items: Item[]; nextCursor: string | null }>();
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      const csv = await get(`/v1/participants/${id}/timeline.csv${query}`);
      expect(csv.statusCode).toBe(200);
      const [, , header, ...data] = parseCsv(csv.body.replace(/^\uFEFF/, ''));
      expect(header![7]).toBe('title');
      expect(data).toEqual(items.map((item) => asCsv(timelineCells(item))));
      const xlsx = await get(`/v1/participants/${id}/timeline.xlsx${query}`);
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
      const values = workbook
        .getWorksheet('Timeline')!
        .getSheetValues()
        .slice(4)
        .map((row) =>
          Array.isArray(row) ? Array.from(row.slice(1), (cell: unknown) => cell ?? null) : [],
        )
        .map((cells) => [...cells, ...Array<null>(11 - cells.length).fill(null)]);
      expect(values).toEqual(items.map(timelineCells));
    }
    const live = parseCsv((await get(`/v1/participants/${id}/timeline.csv`)).body);
    const logged = live.find((record) => record[1] === 'ActivityLogged')!;
    expect(logged[7]).toBe(`'${TITLE}`);
    // A comma, quotes, a line break and Chinese characters come back as they went in.
    const rejection = live.find((record) => record[1] === 'ActivityRejected')!;
    expect(rejection[6]).toBe(`Activity rejected: ${REASON}`);
    // As of a day before the activity happened, it is not there.
    const before = parseCsv(
      (await get(`/v1/participants/${id}/timeline.csv?asOf=2026-03-01`)).body,
    );
    expect(before.some((record) => record[1] === 'ActivityLogged')).toBe(false);
  });

  it('the dashboard role gets no export (403); another student or society gets 404', async () => {
    const dashboard = await t.auth('dashboard');
    for (const url of [
      `/v1/programmes/${P}/participants.csv`,
      `/v1/programmes/${P}/participants.xlsx`,
      `/v1/participants/${ids[0]}/timeline.csv`,
      `/v1/participants/${ids[0]}/timeline.xlsx`,
    ])
      expect((await get(url, dashboard)).statusCode).toBe(403);
    const student2 = await t.auth('participant', { sub: 'student-2' });
    expect((await get(`/v1/participants/${ids[0]}/timeline.csv`, student2)).statusCode).toBe(404);
    const otherStaff = await t.auth('society_staff', { society: 'A01', sub: 'staff-A01' });
    expect((await get(`/v1/participants/${ids[0]}/timeline.xlsx`, otherStaff)).statusCode).toBe(
      404,
    );
    // Staff of another society export their own society only: no B33 participant.
    const own = await get(`/v1/programmes/${P}/participants.csv`, otherStaff);
    expect(own.statusCode).toBe(200);
    expect(parseCsv(own.body)).toHaveLength(3);
  });
});
