/**
 * A deliberately small JQL engine: enough for integrations (key in (...), project, status, assignee,
 * labels, reporter, priority, issuetype, statusCategory, summary/text ~, AND/OR/NOT, parentheses,
 * IS [NOT] EMPTY, ORDER BY). Anything else is a 400 with a Jira-style message, so unsupported queries
 * fail loudly instead of silently matching everything.
 */
export interface JqlIssue {
  id: string;
  key: string;
  projectKey: string;
  projectId: string;
  statusId: string;
  statusName: string;
  statusCategory: string;
  assigneeId: string | null;
  reporterId: string | null;
  labels: string[];
  priorityName: string | null;
  priorityId: string | null;
  issueTypeName: string;
  issueTypeId: string;
  parentKey: string | null;
  parentId: string | null;
  summary: string;
  text: string;
  created: number;
  updated: number;
}

export interface JqlContext {
  currentAccountId: string;
  /** Returns the accountId for an accountId/email/display name, or undefined. */
  resolveUser(v: string): string | undefined;
  projectExists(v: string): boolean;
  statusExists(v: string): boolean;
  issueKeyExists(key: string): boolean;
}

export class JqlError extends Error {}

type Tok = { t: 'word' | 'str' | 'op' | 'lp' | 'rp' | 'comma'; v: string };

function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(') {
      toks.push({ t: 'lp', v: c });
      i++;
    } else if (c === ')') {
      toks.push({ t: 'rp', v: c });
      i++;
    } else if (c === ',') {
      toks.push({ t: 'comma', v: c });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== c) {
        if (s[j] === '\\' && j + 1 < s.length) j++;
        v += s[j];
        j++;
      }
      if (j >= s.length) throw new JqlError(`Error in the JQL Query: The quoted string '${v}' has not been completed.`);
      toks.push({ t: 'str', v });
      i = j + 1;
    } else if ('=!<>~'.includes(c)) {
      const two = s.slice(i, i + 2);
      if (['!=', '>=', '<=', '!~'].includes(two)) {
        toks.push({ t: 'op', v: two });
        i += 2;
      } else {
        if (c === '!') throw new JqlError(`Error in the JQL Query: The character '!' is a reserved JQL character.`);
        toks.push({ t: 'op', v: c });
        i++;
      }
    } else {
      let j = i;
      while (j < s.length && !/[\s(),=!<>~"']/.test(s[j]!)) j++;
      toks.push({ t: 'word', v: s.slice(i, j) });
      i = j;
    }
  }
  return toks;
}

type Pred = (i: JqlIssue) => boolean;
export interface CompiledJql {
  filter: Pred;
  compare: (a: JqlIssue, b: JqlIssue) => number;
  /** Whether the query restricts the search (has a clause before ORDER BY): `/search/jql` needs one. */
  bounded: boolean;
}

const FIELD_ALIASES: Record<string, string> = {
  key: 'key',
  issuekey: 'key',
  id: 'key',
  project: 'project',
  status: 'status',
  assignee: 'assignee',
  reporter: 'reporter',
  labels: 'labels',
  priority: 'priority',
  issuetype: 'issuetype',
  type: 'issuetype',
  parent: 'parent',
  statuscategory: 'statusCategory',
  summary: 'summary',
  text: 'text',
  created: 'created',
  createddate: 'created',
  updated: 'updated',
  updateddate: 'updated',
};

const KEY_RE = /^[A-Z][A-Z0-9_]+-\d+$/;

function naturalKeyCompare(a: string, b: string): number {
  const [pa = '', na = '0'] = a.split('-');
  const [pb = '', nb = '0'] = b.split('-');
  return pa === pb ? Number(na) - Number(nb) : pa < pb ? -1 : 1;
}

export function compileJql(jql: string, ctx: JqlContext): CompiledJql {
  const toks = tokenize(jql);
  let p = 0;
  const peek = () => toks[p];
  const isWord = (w: string) => {
    const t = toks[p];
    return t?.t === 'word' && t.v.toLowerCase() === w;
  };
  const expectedErr = (what: string) => {
    const t = toks[p];
    return new JqlError(
      t
        ? `Error in the JQL Query: Expecting ${what} but got '${t.v}'. (line 1, character ${p + 1})`
        : `Error in the JQL Query: Expecting ${what} but reached the end of the query.`,
    );
  };

  const value = (): string => {
    const t = toks[p];
    if (!t || (t.t !== 'word' && t.t !== 'str')) throw expectedErr('either a value, list or function');
    p++;
    // Functions such as currentUser() arrive as word + '(' + ')'.
    if (t.t === 'word' && peek()?.t === 'lp') {
      p++;
      if (peek()?.t !== 'rp') throw expectedErr("')'");
      p++;
      const fn = t.v.toLowerCase();
      if (fn === 'currentuser') return ctx.currentAccountId;
      throw new JqlError(`Error in the JQL Query: Unable to find JQL function '${t.v}()'.`);
    }
    return t.v;
  };

  const clause = (): Pred => {
    if (peek()?.t === 'lp') {
      p++;
      const e = orExpr();
      if (peek()?.t !== 'rp') throw expectedErr("')'");
      p++;
      return e;
    }
    if (isWord('not')) {
      p++;
      const e = clause();
      return (i) => !e(i);
    }
    const ft = toks[p];
    if (!ft || (ft.t !== 'word' && ft.t !== 'str')) throw expectedErr('a field name');
    p++;
    const field = FIELD_ALIASES[ft.v.toLowerCase()];
    if (!field) throw new JqlError(`Field '${ft.v}' does not exist or you do not have permission to view it.`);

    // Operator
    let op: string;
    const ot = peek();
    if (ot?.t === 'op') {
      op = ot.v;
      p++;
    } else if (isWord('in')) {
      op = 'in';
      p++;
    } else if (isWord('not') && toks[p + 1]?.t === 'word' && toks[p + 1]!.v.toLowerCase() === 'in') {
      op = 'not in';
      p += 2;
    } else if (isWord('is')) {
      p++;
      if (isWord('not')) {
        p++;
        op = 'is not';
      } else op = 'is';
      if (!isWord('empty') && !isWord('null')) throw expectedErr('EMPTY');
      p++;
    } else throw expectedErr('operator');

    if (op === 'is' || op === 'is not') {
      const empty = (i: JqlIssue): boolean => {
        if (field === 'assignee') return i.assigneeId === null;
        if (field === 'reporter') return i.reporterId === null;
        if (field === 'labels') return i.labels.length === 0;
        if (field === 'priority') return i.priorityName === null;
        if (field === 'parent') return i.parentId === null;
        return false;
      };
      return op === 'is' ? empty : (i) => !empty(i);
    }

    let values: string[];
    if (op === 'in' || op === 'not in') {
      if (peek()?.t !== 'lp') throw expectedErr("'('");
      p++;
      values = [value()];
      while (peek()?.t === 'comma') {
        p++;
        values.push(value());
      }
      if (peek()?.t !== 'rp') throw expectedErr("')'");
      p++;
    } else values = [value()];

    if (field === 'summary' || field === 'text') {
      if (op !== '~' && op !== '!~')
        throw new JqlError(`The operator '${op}' is not supported by the '${ft.v}' field.`);
      const needle = values[0]!.toLowerCase().replace(/\*/g, '');
      const m = (i: JqlIssue) => (field === 'summary' ? i.summary : i.text).toLowerCase().includes(needle);
      return op === '~' ? m : (i) => !m(i);
    }
    if (field === 'created' || field === 'updated') {
      const t = Date.parse(values[0]!);
      if (Number.isNaN(t) || !['<', '>', '<=', '>='].includes(op))
        throw new JqlError(`Date value '${values[0]!}' for field '${field}' is invalid.`);
      return (i) => {
        const v = i[field];
        return op === '<' ? v < t : op === '>' ? v > t : op === '<=' ? v <= t : v >= t;
      };
    }
    if (!['=', '!=', 'in', 'not in'].includes(op))
      throw new JqlError(`The operator '${op}' is not supported by the '${ft.v}' field.`);

    const norm = values.map((v) => v.trim());
    let get: (i: JqlIssue) => (string | null)[];
    let wanted: Set<string | null>;
    const lower = (s: string) => s.toLowerCase();
    switch (field) {
      case 'key':
      case 'parent': {
        for (const v of norm) {
          if (/^\d+$/.test(v)) continue; // issue ids are accepted too
          if (!KEY_RE.test(v.toUpperCase())) throw new JqlError(`The issue key '${v}' for field '${ft.v}' is invalid.`);
          if (!ctx.issueKeyExists(v.toUpperCase()))
            throw new JqlError(`An issue with key '${v.toUpperCase()}' does not exist for field '${ft.v}'.`);
        }
        wanted = new Set(norm.map((v) => v.toUpperCase()));
        get = field === 'key' ? (i) => [i.key, i.id] : (i) => [i.parentKey, i.parentId];
        break;
      }
      case 'project':
        for (const v of norm)
          if (!ctx.projectExists(v)) throw new JqlError(`The value '${v}' does not exist for the field 'project'.`);
        wanted = new Set(norm.map(lower));
        get = (i) => [lower(i.projectKey), i.projectId];
        break;
      case 'status':
        for (const v of norm)
          if (!ctx.statusExists(v)) throw new JqlError(`The value '${v}' does not exist for the field 'status'.`);
        wanted = new Set(norm.map(lower));
        get = (i) => [lower(i.statusName), i.statusId];
        break;
      case 'statusCategory':
        wanted = new Set(norm.map(lower).map((v) => ({ 'to do': 'new', 'in progress': 'indeterminate' })[v] ?? v));
        get = (i) => [i.statusCategory];
        break;
      case 'assignee':
      case 'reporter': {
        wanted = new Set(
          norm.map((v) => {
            if (v.toLowerCase() === 'empty' || v.toLowerCase() === 'null') return null;
            const id = ctx.resolveUser(v);
            if (!id) throw new JqlError(`The value '${v}' does not exist for the field '${field}'.`);
            return id;
          }),
        );
        get = (i) => [field === 'assignee' ? i.assigneeId : i.reporterId];
        break;
      }
      case 'labels':
        wanted = new Set(norm);
        get = (i) => i.labels;
        break;
      case 'priority':
        wanted = new Set(norm.map(lower));
        get = (i) => [i.priorityName ? lower(i.priorityName) : null, i.priorityId];
        break;
      case 'issuetype':
        wanted = new Set(norm.map(lower));
        get = (i) => [lower(i.issueTypeName), i.issueTypeId];
        break;
      default:
        throw new JqlError(`Field '${ft.v}' does not exist or you do not have permission to view it.`);
    }
    const match: Pred = (i) => get(i).some((v) => wanted.has(v));
    return op === '=' || op === 'in' ? match : (i) => !match(i);
  };

  const andExpr = (): Pred => {
    let left = clause();
    while (isWord('and') || peek()?.v === '&&') {
      p++;
      const l = left;
      const r = clause();
      left = (i) => l(i) && r(i);
    }
    return left;
  };
  function orExpr(): Pred {
    let left = andExpr();
    while (isWord('or') || peek()?.v === '||') {
      p++;
      const l = left;
      const r = andExpr();
      left = (i) => l(i) || r(i);
    }
    return left;
  }

  let filter: Pred = () => true;
  const bounded = toks.length > 0 && !isWord('order');
  if (bounded) filter = orExpr();

  const sorts: { field: string; dir: number }[] = [];
  if (isWord('order')) {
    p++;
    if (!isWord('by')) throw expectedErr("'by'");
    p++;
    do {
      if (peek()?.t === 'comma') p++;
      const ft = toks[p];
      if (!ft || ft.t === 'lp' || ft.t === 'rp') throw expectedErr('a field name');
      p++;
      const field = FIELD_ALIASES[ft.v.toLowerCase()];
      if (!field || field === 'text')
        throw new JqlError(`Field '${ft.v}' does not exist or you do not have permission to view it.`);
      let dir = field === 'created' || field === 'updated' ? -1 : 1;
      if (isWord('asc') || isWord('desc')) {
        dir = isWord('asc') ? 1 : -1;
        p++;
      }
      sorts.push({ field, dir });
    } while (peek()?.t === 'comma');
  }
  if (p < toks.length) throw expectedErr("either 'AND', 'OR' or 'ORDER BY'");

  // Jira's default order without ORDER BY is by key descending within relevance; use newest first.
  if (!sorts.length) sorts.push({ field: 'created', dir: -1 });
  const val = (i: JqlIssue, f: string): string | number => {
    switch (f) {
      case 'created':
        return i.created;
      case 'updated':
        return i.updated;
      case 'priority':
        return Number(i.priorityId ?? 99);
      case 'status':
        return i.statusName;
      case 'assignee':
        return i.assigneeId ?? '';
      case 'summary':
        return i.summary;
      case 'project':
        return i.projectKey;
      default:
        return i.key;
    }
  };
  const compare = (a: JqlIssue, b: JqlIssue): number => {
    for (const s of sorts) {
      if (s.field === 'key') {
        const c = naturalKeyCompare(a.key, b.key);
        if (c) return c * s.dir;
        continue;
      }
      const va = val(a, s.field);
      const vb = val(b, s.field);
      if (va < vb) return -s.dir;
      if (va > vb) return s.dir;
    }
    // Ties (same millisecond) fall back to issue id so ordering is stable.
    return (Number(a.id) - Number(b.id)) * (sorts[0]?.dir ?? 1);
  };
  return { filter, compare, bounded };
}
