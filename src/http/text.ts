/**
 * What counts as text at the boundary (docs/API.md: "every string a client sends is well-formed
 * Unicode without control characters (tab and newline only in multi-line texts) and is stored
 * NFC-normalised"). One definition, used by the body parser for every string of every request
 * body, by the hook that checks path and query parameters, and by `@IsText` on DTO fields.
 */

/** Why `value` is not acceptable text, or null when it is. Line breaks are judged separately. */
export function malformedTextReason(value: string): string | null {
  if (!value.isWellFormed()) return 'contains a lone surrogate (malformed UTF-16)';
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code >= 0x20 && code < 0x7f) continue;
    if (code === 0x09 || code === 0x0a) continue;
    // A carriage return is accepted only as half of a CRLF line break.
    if (code === 0x0d && value.charCodeAt(i + 1) === 0x0a) continue;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f))
      return `contains the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    if (code === 0xfffe || code === 0xffff)
      return `contains the noncharacter U+${code.toString(16).toUpperCase()}`;
  }
  return null;
}

/**
 * True when `value` holds a tab or a line break, which single-line fields refuse: LF, CR, and
 * Unicode's own line and paragraph separators (U+2028, U+2029).
 */
export function hasLineBreakOrTab(value: string): boolean {
  return /[\t\n\r\u2028\u2029]/.test(value);
}

/** One string in a parsed request that is not acceptable text. */
export type TextProblem = { readonly field: string; readonly message: string };

/**
 * Checks every string (and every key) in a parsed JSON value and replaces each string with its
 * NFC form in place, so two spellings of "Zoë" are stored as one. Iterative, so a deep value
 * cannot exhaust the stack (the parser limits depth before this runs anyway).
 */
export function checkAndNormaliseStrings(root: unknown, rootField = 'body'): TextProblem[] {
  const problems: TextProblem[] = [];
  const stack: Array<{ value: unknown; field: string; set: (next: string) => void }> = [
    { value: root, field: rootField, set: () => undefined },
  ];
  while (stack.length > 0) {
    const { value, field, set } = stack.pop()!;
    if (typeof value === 'string') {
      const reason = malformedTextReason(value);
      if (reason) problems.push({ field, message: `${field} ${reason}` });
      else if (!isAscii(value)) set(value.normalize('NFC'));
      continue;
    }
    if (Array.isArray(value)) {
      value.forEach((item: unknown, index) =>
        stack.push({
          value: item,
          field: `${field}[${index}]`,
          set: (next) => (value[index] = next),
        }),
      );
      continue;
    }
    if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      for (const key of Object.keys(object)) {
        const name = field === rootField ? key : `${field}.${key}`;
        const reason = malformedTextReason(key);
        if (reason) {
          problems.push({ field: name, message: `the field name ${reason}` });
          continue;
        }
        stack.push({ value: object[key], field: name, set: (next) => (object[key] = next) });
      }
    }
  }
  return problems.reverse();
}

function isAscii(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(value);
}
