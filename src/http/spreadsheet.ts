import { PassThrough, type Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { FastifyReply } from 'fastify';

/** One column of an export: its header and how a row gives its cell (null: empty). */
export type Column<Row> = {
  readonly header: string;
  readonly value: (row: Row) => string | number | null;
};

/** A table for staff: rows, and what they are as of (docs/integration.md). */
export type Sheet<Row> = {
  /** The worksheet's name (XLSX) and the first word of the file name. */
  readonly name: string;
  readonly columns: readonly Column<Row>[];
  readonly rows: readonly Row[];
  /** The global position the read models had applied when the rows were read. */
  readonly position: number;
  readonly exportedAt: Date;
};

export const CSV = 'text/csv; charset=utf-8';
export const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, and tab or carriage
 * return, which some programs skip before one) is prefixed with `'`, so it is shown as the text
 * it is (OWASP, "CSV injection"). Numbers are written as numbers and are never prefixed.
 */
export function neutralised(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break or edge spaces. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = neutralised(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The lines every export starts with: what it is as of, and when it was made. */
function preamble(
  sheet: Pick<Sheet<never>, 'position' | 'exportedAt'>,
): Array<Array<string | number>> {
  return [
    ['as of position', sheet.position],
    ['exported at', sheet.exportedAt.toISOString()],
  ];
}

/**
 * RFC 4180 CSV in UTF-8 with a byte order mark (so Excel reads Chinese names as such), CRLF line
 * ends, every record with the same number of fields: the preamble, the header, the rows.
 */
export function csvOf<Row>(sheet: Sheet<Row>): string {
  const width = sheet.columns.length;
  const pad = (cells: Array<string | number | null>) => [
    ...cells,
    ...Array<null>(Math.max(0, width - cells.length)).fill(null),
  ];
  const records = [
    ...preamble(sheet).map(pad),
    sheet.columns.map((column) => column.header),
    ...sheet.rows.map((row) => sheet.columns.map((column) => column.value(row))),
  ];
  return `\uFEFF${records.map((cells) => cells.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/**
 * The same table as an XLSX workbook, written by exceljs's streaming writer: each row is committed
 * (serialised and released) as it is added, and the file goes out while it is being written.
 * Text cells are typed as text, which spreadsheets never run as formulas.
 */
export function xlsxOf<Row>(sheet: Sheet<Row>): Readable {
  const output = new PassThrough();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: output,
    useStyles: false,
    useSharedStrings: false,
  });
  const worksheet = workbook.addWorksheet(sheet.name);
  const write = async () => {
    for (const cells of preamble(sheet)) worksheet.addRow(cells).commit();
    worksheet.addRow(sheet.columns.map((column) => column.header)).commit();
    for (const row of sheet.rows)
      worksheet.addRow(sheet.columns.map((column) => column.value(row))).commit();
    worksheet.commit();
    await workbook.commit();
  };
  write().catch((error: unknown) => output.destroy(error as Error));
  return output;
}

/** Sends `sheet` as a CSV or XLSX attachment named `<name>-<position>.<format>`. */
export function sendSheet<Row>(
  reply: FastifyReply,
  format: 'csv' | 'xlsx',
  fileStem: string,
  sheet: Sheet<Row>,
): FastifyReply {
  const filename = `${fileStem}-position-${sheet.position}.${format}`;
  return reply
    .status(200)
    .header('content-type', format === 'csv' ? CSV : XLSX)
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('x-as-of-position', String(sheet.position))
    .header('cache-control', 'no-store')
    .send(format === 'csv' ? csvOf(sheet) : xlsxOf(sheet));
}
