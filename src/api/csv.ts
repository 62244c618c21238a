/**
 * A small RFC 4180 CSV reader for eUICC imports: a header line naming the columns, comma-separated fields,
 * double-quoted fields with "" escapes and embedded commas or line breaks, CRLF or LF line ends.
 */
import { InvalidArgumentError } from '../errors.js';

/** Rows as column-name to text maps (empty fields are left out), with their 1-based line numbers. */
export function parseCsv(text: string): { line: number; fields: Record<string, string> }[] {
  const records: { line: number; values: string[] }[] = [];
  let values: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endField = (): void => {
    values.push(field);
    field = '';
  };
  const endRecord = (): void => {
    endField();
    if (!(values.length === 1 && values[0] === '')) records.push({ line: recordLine, values });
    values = [];
    recordLine = line;
  };
  const s = text.startsWith('\ufeff') ? text.slice(1) : text;
  while (i < s.length) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i += 1;
      } else {
        if (c === '\n') line += 1;
        field += c;
        i += 1;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      i += 1;
    } else if (c === ',') {
      endField();
      i += 1;
    } else if (c === '\n' || (c === '\r' && s[i + 1] === '\n')) {
      line += 1;
      endRecord();
      i += c === '\r' ? 2 : 1;
    } else {
      field += c;
      i += 1;
    }
  }
  if (quoted) throw new InvalidArgumentError('csv', `unterminated quoted field starting on line ${recordLine}`);
  if (field !== '' || values.length > 0) endRecord();
  const [header, ...rows] = records;
  if (header === undefined) throw new InvalidArgumentError('csv', 'a header line is required');
  const names = header.values.map((h) => h.trim());
  return rows.map((r) => {
    if (r.values.length > names.length) throw new InvalidArgumentError('csv', `line ${r.line} has ${r.values.length} fields, the header ${names.length}`);
    const fields: Record<string, string> = {};
    r.values.forEach((v, k) => {
      const t = v.trim();
      if (t !== '') fields[names[k]!] = t;
    });
    return { line: r.line, fields };
  });
}
