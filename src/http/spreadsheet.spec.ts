import ExcelJS from 'exceljs';
import { csvOf, neutralised, xlsxOf, type Sheet } from './spreadsheet';

type Row = { text: string | null; figure: number };
const sheet = (rows: Row[]): Sheet<Row> => ({
  name: 'Test',
  columns: [
    { header: 'text', value: (row) => row.text },
    { header: 'figure', value: (row) => row.figure },
  ],
  rows,
  position: 42,
  exportedAt: new Date('2026-07-02T02:00:00.000Z'),
});

describe('spreadsheet exports', () => {
  it('neutralises text a spreadsheet would run as a formula, and only that', () => {
    for (const text of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])
      expect(neutralised(text)).toBe(`'${text}`);
    for (const text of ['1', 'a=b', ' =x', "'quoted", '']) expect(neutralised(text)).toBe(text);
  });

  it('CSV: BOM, CRLF, the preamble as wide as the header, RFC 4180 quoting, numbers unprefixed', () => {
    const csv = csvOf(
      sheet([
        { text: 'a, "b"\nc', figure: -1.5 },
        { text: null, figure: 0 },
        { text: '-5', figure: 3 },
        { text: ' edge ', figure: 1 },
      ]),
    );
    expect(csv).toBe(
      '\uFEFFas of position,42\r\n' +
        'exported at,2026-07-02T02:00:00.000Z\r\n' +
        'text,figure\r\n' +
        '"a, ""b""\nc",-1.5\r\n' +
        ',0\r\n' +
        "'-5,3\r\n" +
        '" edge ",1\r\n',
    );
  });

  it('XLSX: read back with exceljs, text as text (even =...), figures as numbers', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of xlsxOf(sheet([{ text: '=1+1', figure: 2.25 }])))
      chunks.push(chunk as Buffer);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer);
    const rows = workbook.getWorksheet('Test')!.getSheetValues();
    expect(rows.slice(1).map((row) => (Array.isArray(row) ? row.slice(1) : row))).toEqual([
      ['as of position', 42],
      ['exported at', '2026-07-02T02:00:00.000Z'],
      ['text', 'figure'],
      ['=1+1', 2.25],
    ]);
  });
});
