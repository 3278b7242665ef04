import { rawRequest, type HostileRequest } from './send.js'

export interface HandContext {
  /** A person the cases may write to (its version changes as they do). */
  victim: { id: string, version: string }
  /** A person and a book only read: the scenario reads them back exactly afterwards. */
  person: { id: string, version: string }
  book: { id: string }
  /** A real next_cursor of `GET /book?limit=1`. */
  bookCursor: string
}

const MiB = 1024 * 1024
const JSON_TYPE = { 'content-type': 'application/json' }
const PERSON = '"first_name":"Ada","last_name":"Lovelace"'
const BAD = 400

const post = (label: string, body: string | Buffer, expect?: number | number[], headers: Record<string, string> = JSON_TYPE): HostileRequest =>
  ({ label, method: 'POST', path: '/person', headers, body, ...(expect === undefined ? {} : { expect }) })
const get = (label: string, path: string, expect?: number | number[], headers: Record<string, string> = {}): HostileRequest =>
  ({ label, method: 'GET', path, headers, ...(expect === undefined ? {} : { expect }) })
/** Bytes on a socket of their own; `text` is latin1 (one byte per character). */
const raw = (label: string, text: string | Buffer, options: Partial<HostileRequest> = {}): HostileRequest =>
  ({ label, method: 'RAW', path: (typeof text === 'string' ? text : text.subarray(0, 200).toString('latin1')).split('\r\n')[0] ?? '', raw: text, ...options })
/** A request with Connection: close and a Content-Length that matches, written by hand. */
const http = (head: string, body = ''): string => {
  const [requestLine, ...fields] = head.split('\r\n')
  return [requestLine, 'Host: 127.0.0.1', 'Connection: close', ...fields, ...(body === '' ? [] : [`Content-Length: ${Buffer.byteLength(body, 'latin1')}`]), '', body].join('\r\n')
}

/**
 * verso answers 413 as soon as it has read the Content-Length, with most of the body still on its way; its
 * lingering close (src/http/lingering-close.ts) keeps reading until the client has its answer, so the 413 must
 * arrive, not a connection reset.
 */
const big = (label: string, method: string, path: string, headers: Record<string, string>, body: string): HostileRequest =>
  ({ label, method, path, raw: rawRequest({ method, path, headers, body }), expect: 413 })

const nested = (levels: number, open: string, close: string, leaf = ''): string => open.repeat(levels) + leaf + close.repeat(levels)

/**
 * The hand-written hostile requests: what a fuzzer from the schemas would not think of. Each is sent at least
 * once per run. `expect` is set where the answer is certain; the others only have to be a non-5xx problem.
 */
export function handCases (ctx: HandContext): HostileRequest[] {
  const { victim, person, book, bookCursor } = ctx
  const at = `/person/${victim.id}`
  const ifMatch = { ...JSON_TYPE, 'if-match': `"${victim.version}"` }
  const [cursorBody = '', cursorSig = ''] = bookCursor.split('.')
  const cases: HostileRequest[] = [
    // ---- invalid JSON
    ...['{', '{"first_name":}', '[1,2', 'nul', "{'first_name':'a'}", `{${PERSON},}`, `{${PERSON}} trailing`, 'NaN', 'Infinity', '{"a":1}{"a":2}',
      '"\\x"', '{"first_name":"\\u12"}', '/* comment */{}', `{${PERSON},"age":01}`, `{${PERSON},"age":.5}`, `{${PERSON},"age":+1}`, '\u0000',
      `{${PERSON},"age":0x10}`, '{"first_name":"a\tb","last_name":"x"}']
      .map((text, i) => post(`invalid JSON ${i}`, text, BAD)),
    { label: 'invalid JSON merge patch', method: 'PATCH', path: at, headers: { ...ifMatch, 'content-type': 'application/merge-patch+json' }, body: '{"age":', expect: BAD },
    // ---- truncated bodies
    post('truncated JSON', `{${PERSON.slice(0, 25)}`, BAD),
    raw('Content-Length longer than the body, then half-close', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"first_name":"A', { halfClose: true, expect: BAD }),
    raw('chunked body without its last chunk, then half-close', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"fir\r\n', { halfClose: true, expect: BAD }),
    raw('Content-Length shorter than the body', `POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{${PERSON}}`),
    raw('bad chunk size', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', { expect: BAD }),
    // ---- content types
    post('no content type', `{${PERSON}}`, 415, {}),
    ...['text/plain', 'application/xml', 'application/jsonx', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/json-patch+json', 'application/merge-patch+json', 'image/png']
      .map((type) => post(`content type ${type}`, `{${PERSON}}`, 415, { 'content-type': type })),
    ...['application/json; charset=utf-16', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/json;;;', ';;;', 'application/json, text/plain', '*/*', ' ', `application/json; x=${'y'.repeat(8000)}`, 'application/json; charset="utf-8"; charset=utf-8', '\u00e9']
      .map((type) => post(`odd content type ${JSON.stringify(type.slice(0, 40))}`, `{${PERSON}}`, undefined, { 'content-type': type })),
    { label: 'JSON Patch sent to PATCH', method: 'PATCH', path: at, headers: { ...ifMatch, 'content-type': 'application/json-patch+json' }, body: '[{"op":"add","path":"/age","value":1}]', expect: 415 },
    { label: 'merge patch sent to PUT', method: 'PUT', path: at, headers: { ...ifMatch, 'content-type': 'application/merge-patch+json' }, body: `{${PERSON}}`, expect: 415 },
    { label: 'form body on POST', method: 'POST', path: '/person', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'first_name=Ada&last_name=L', expect: 415 },
    { label: 'body on GET', method: 'GET', path: `/person/${person.id}`, headers: { 'content-type': 'text/plain' }, body: 'hello' },
    { label: 'gzip content encoding on a plain body', method: 'POST', path: '/person', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: `{${PERSON}}` },
    // ---- 10 MB bodies
    // On raw sockets: undici, still writing when verso answers and closes, reports EPIPE instead of the answer.
    big('10 MB string member', 'POST', '/person', JSON_TYPE, `{${PERSON},"metadata":{"blob":"${'x'.repeat(10 * MiB)}"}}`),
    big('10 MB of [', 'POST', '/person', JSON_TYPE, '['.repeat(10 * MiB)),
    big('10 MB PUT', 'PUT', at, ifMatch, `{${PERSON},"metadata":{"b":"${'y'.repeat(10 * MiB)}"}}`),
    big('10 MB merge patch', 'PATCH', at, { ...ifMatch, 'content-type': 'application/merge-patch+json' }, `{"metadata":{"b":"${'z'.repeat(10 * MiB)}"}}`),
    raw('10 MB chunked', Buffer.concat([Buffer.from('POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'), ...Array.from({ length: 160 }, () => Buffer.from(`10000\r\n${'w'.repeat(0x10000)}\r\n`)), Buffer.from('0\r\n\r\n')]), { expect: 413 }),
    { ...big('10 MB body on GET', 'GET', `/person/${person.id}`, JSON_TYPE, 'q'.repeat(10 * MiB)), expect: [200, 413] },
    // ---- deep nesting and many fields
    post('10,000-deep arrays', nested(10_000, '[', ']'), BAD),
    post('10,000-deep objects', nested(10_000, '{"a":', '}', '1'), BAD),
    post('10,000-deep metadata', `{${PERSON},"metadata":${nested(10_000, '{"a":', '}', '1')}}`, BAD),
    post('100,000-deep arrays', nested(100_000, '[', ']'), BAD),
    post('10,000-deep unclosed', '['.repeat(10_000), BAD),
    { label: '10,000-deep merge patch', method: 'PATCH', path: at, headers: { ...ifMatch, 'content-type': 'application/merge-patch+json' }, body: `{"metadata":${nested(10_000, '{"a":', '}', 'null')}}`, expect: BAD },
    post('50,000 members', `{${PERSON},"metadata":{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":${i}`).join(',')}}}`, BAD),
    post('100,000 array elements', `{${PERSON},"metadata":{"a":[${'0,'.repeat(99_999)}0]}}`, BAD),
    // ---- prototype keys
    post('__proto__ at the top', `{"__proto__":{"admin":true},${PERSON}}`, BAD),
    post('constructor.prototype at the top', `{"constructor":{"prototype":{"admin":true}},${PERSON}}`, BAD),
    post('__proto__ in metadata', `{${PERSON},"metadata":{"__proto__":{"admin":true}}}`, BAD),
    post('constructor.prototype in metadata', `{${PERSON},"metadata":{"constructor":{"prototype":{"x":1}}}}`, BAD),
    post('escaped __proto__ key', `{"\\u005f_proto__":{"admin":true},${PERSON}}`, BAD),
    post('constructor key', `{"constructor":1,${PERSON}}`, BAD),
    post('prototype key', `{"prototype":{},${PERSON}}`, BAD),
    post('constructor in metadata', `{${PERSON},"metadata":{"constructor":1,"toString":2,"hasOwnProperty":3,"valueOf":{}}}`),
    { label: '__proto__ in a merge patch', method: 'PATCH', path: at, headers: { ...ifMatch, 'content-type': 'application/merge-patch+json' }, body: '{"metadata":{"__proto__":{"polluted":1}}}', expect: BAD },
    get('__proto__ query parameter', '/person?__proto__=1', BAD),
    get('__proto__[x] query parameter', '/person?__proto__[polluted]=1', BAD),
    get('constructor query parameter', '/person?constructor=x', BAD),
    get('hasOwnProperty query parameter', '/person?hasOwnProperty=x', BAD),
    get('__proto__ as a filter field on count', '/person/count?__proto__=eq.1', BAD),
    get('fields=__proto__', '/person?fields=__proto__', BAD),
    get('fields=constructor,toString', '/person?fields=constructor,toString', BAD),
    get('__proto__ as an id', '/person/__proto__', BAD),
    get('a book\'s id as a person', `/person/${book.id}`, 404),
    { label: '__proto__ header', method: 'GET', path: `/person/${person.id}`, headers: { __proto__: 'x', constructor: 'y' } as unknown as Record<string, string> },
    // ---- unicode edge cases
    ...['\\ud800', '\\udfff', 'x\\ud83d', '\\ufeffAda', '\\u202eevil\\u202c', 'a\\u0000b', '\\u0000', '\\u2028', 'e\\u0301\\u0301', '\\uffff', '\\ufffe']
      .map((s) => post(`unicode ${s} in a value`, `{"first_name":"${s}","last_name":"L"}`)),
    post('NUL in a key', '{"first\\u0000name":"Ada","last_name":"L"}', BAD),
    post('lone surrogate in a metadata key', `{${PERSON},"metadata":{"\\ud800":1}}`),
    post('empty metadata key', `{${PERSON},"metadata":{"":1}}`),
    post('emoji at maxLength', `{"first_name":"${'😀'.repeat(200)}","last_name":"L"}`),
    post('emoji past maxLength', `{"first_name":"${'😀'.repeat(201)}","last_name":"L"}`, BAD),
    ...[[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80]].map((bytes) =>
      post(`invalid UTF-8 ${Buffer.from(bytes).toString('hex')} in a value`, Buffer.concat([Buffer.from('{"first_name":"'), Buffer.from(bytes), Buffer.from('","last_name":"L"}')]))),
    post('BOM before the body', Buffer.concat([Buffer.from([0xEF, 0xBB, 0xBF]), Buffer.from(`{${PERSON}}`)])),
    post('UTF-16 body', Buffer.from(`{${PERSON}}`, 'utf16le')),
    post('raw NUL byte inside a string', Buffer.from('{"first_name":"a\u0000b","last_name":"L"}', 'latin1'), BAD),
    ...['%00', '%C0%AF', '%ED%A0%80', '%FF', '%E2%80%AE', '%EF%BB%BF', '%F0%9F%98%80', `${person.id}%00`, '%', '%zz', '%u0041']
      .map((p) => get(`unicode in the id ${p}`, `/person/${p}`, BAD)),
    ...['%00', '%ED%A0%80', '%FF', '%E2%80%AE', '%C0%AF', '%', 'eq.%00', 'begins_with.%ED%A0%80', 'in.(%00,%FF)']
      .map((v) => get(`unicode in a filter ${v}`, `/person?last_name=${v}`)),
    raw('byte 0xFF in a header value', http(`GET /person/${person.id} HTTP/1.1\r\nX-Request-Id: \u00ff\u00fe`)),
    raw('NUL in a header value', http(`GET /person/${person.id} HTTP/1.1\r\nX-Thing: a\u0000b`), { expect: BAD }),
    raw('NUL in the request line', http('GET /person/\u0000 HTTP/1.1'), { expect: BAD }),
    // ---- huge numbers
    ...['1e400', '-1e400', '1e-400', '-0', '1234567890123456789012345678901234567890', '-1234567890123456789012345678901234567890', '36.0', '3.6e1', '1E+2', '9007199254740993']
      .map((n) => post(`number ${n} as age`, `{${PERSON},"age":${n}}`)),
    ...['1e400', '-1e400', '-0', '1234567890123456789012345678901234567890', '1.00000000000000000000000000000000000000001', '5e-324']
      .map((n) => post(`number ${n} in metadata`, `{${PERSON},"metadata":{"n":${n},"list":[${n}]}}`)),
    post('1e400 as a rating', '{"title":"T","author":"A","rating":1e400}'),
    ...['age=1e400', 'age=-0', 'age=gt.1e400', 'age=lt.-1e400', 'age=between.-1e400,1e400', 'age=in.(1e400,-0)', 'age=1234567890123456789012345678901234567890', 'limit=1e400', 'limit=-0', 'limit=99999999999999999999999', 'limit=1.0', 'limit=0x10', 'limit=NaN']
      .map((q) => get(`number in query ${q}`, `/person?${q}`)),
    // ---- invalid and over-long ids
    ...['ZZZ', person.id.toUpperCase(), person.id.slice(1), `${person.id}0`, 'z'.repeat(32), 'a'.repeat(199), 'a'.repeat(201), 'a'.repeat(5000), '-1', '0', 'null', '%20', '..', '%2e%2e', `${person.id}.json`, `${person.id};x=1`]
      .map((id) => get(`id ${id.slice(0, 40)}`, `/person/${id}`, id === `${person.id}.json` ? undefined : BAD)),
    get('version ZZZ', `/person/${person.id}/versions/${'z'.repeat(32)}`, BAD),
    get('version 5000 long', `/person/${person.id}/versions/${'a'.repeat(5000)}`, BAD),
    get('diff to garbage', `/person/${person.id}/versions/${person.version}/diff?to=garbage`, BAD),
    get('diff include_meta=maybe', `/person/${person.id}/versions/${person.version}/diff?include_meta=maybe`, BAD),
    { label: 'restore a garbage version', method: 'POST', path: `/person/${victim.id}/versions/zz/restore`, headers: ifMatch, body: '{}', expect: BAD },
    post('entity_id ZZ', `{${PERSON},"entity_id":"ZZ"}`, BAD),
    post('entity_id 5000 long', `{${PERSON},"entity_id":"${'a'.repeat(5000)}"}`, BAD),
    post('entity_id uppercase', `{${PERSON},"entity_id":"${'A'.repeat(32)}"}`, BAD),
    post('entity_id a number', `{${PERSON},"entity_id":12345678901234567890123456789012}`, BAD),
    post('entity_id of an existing person', `{${PERSON},"entity_id":"${person.id}"}`, 409),
    post('server-managed fields', `{${PERSON},"active":false,"changed_by_id":"${'0'.repeat(32)}","previous_version":"x","changed_on":"x"}`, BAD),
    // ---- header abuse
    raw('20 KB header', http(`GET /person/${person.id} HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}`), { expect: 431 }),
    raw('200 KB header', http(`GET /person/${person.id} HTTP/1.1\r\nX-Big: ${'a'.repeat(200_000)}`), { expect: 431 }),
    raw('3,000 headers', http(`GET /person/${person.id} HTTP/1.1\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}`), { expect: 431 }),
    raw('1,000 small headers', http(`GET /person/${person.id} HTTP/1.1\r\n${Array.from({ length: 1000 }, (_, i) => `A${i}: v`).join('\r\n')}`), { expect: 200 }),
    raw('two different Content-Length', `POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 44\r\nConnection: close\r\n\r\n{${PERSON}}`, { expect: BAD }),
    raw('two equal Content-Length', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'),
    raw('Content-Length and chunked', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n', { expect: BAD }),
    raw('negative Content-Length', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\nConnection: close\r\n\r\n{}', { expect: BAD }),
    raw('huge Content-Length', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\nConnection: close\r\n\r\n{}'),
    raw('Transfer-Encoding gzip, chunked', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n'),
    raw('Transfer-Encoding xchunked', 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: xchunked\r\nConnection: close\r\n\r\n{}', { expect: BAD }),
    ...['garbage', '"unterminated', 'W/"x"', '*', `"${victim.version}", garbage`, `"${'a'.repeat(10_000)}"`, '""', '"a" "b"', `W/"${victim.version}"`, ' , ', `"${victim.version}",`]
      .map((tag) => ({ label: `If-Match ${tag.slice(0, 30)}`, method: 'PUT', path: at, headers: { ...JSON_TYPE, 'if-match': tag }, body: `{${PERSON}}` })),
    raw('two If-Match headers', http(`PUT ${at} HTTP/1.1\r\nContent-Type: application/json\r\nIf-Match: "${'0'.repeat(32)}"\r\nIf-Match: garbage`, `{${PERSON}}`)),
    ...['garbage', '*', `W/"${person.version}"`, '"unterminated', `"${person.version}", garbage`, `"${'b'.repeat(10_000)}"`]
      .map((tag) => get(`If-None-Match ${tag.slice(0, 30)}`, `/person/${person.id}`, undefined, { 'if-none-match': tag })),
    ...['', '""', 'a b', '"a"b"', 'x'.repeat(256), '"\\"', '\u00e9t\u00e9', 'a\tb', '"', `"${'k'.repeat(255)}"`]
      .map((key) => post(`Idempotency-Key ${JSON.stringify(key.slice(0, 20))}`, `{${PERSON}}`, key === `"${'k'.repeat(255)}"` ? 201 : BAD, { ...JSON_TYPE, 'idempotency-key': key })),
    raw('two Idempotency-Key headers', http('POST /person HTTP/1.1\r\nContent-Type: application/json\r\nIdempotency-Key: a\r\nIdempotency-Key: b', `{${PERSON}}`), { expect: BAD }),
    ...['garbage', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`, `ff-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, `00-${'A'.repeat(32)}-${'b'.repeat(16)}-01`, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-extra`, 'x'.repeat(5000), `01-${'a'.repeat(32)}-${'b'.repeat(16)}-zz`]
      .map((tp) => post(`traceparent ${tp.slice(0, 30)}`, `{${PERSON}}`, 201, { ...JSON_TYPE, traceparent: tp })),
    ...['Bearer x', 'Bearer', 'Basic !!!', `Bearer ${'e'.repeat(8000)}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', 'Negotiate x', '\u00ff']
      .map((a) => get(`Authorization ${a.slice(0, 30)}`, `/person/${person.id}`, 200, { authorization: a })),
    ...['x'.repeat(200), 'a b', '../x', '\u00e9', '']
      .map((id) => get(`X-Request-Id ${id.slice(0, 20)}`, `/person/${person.id}`, 200, { 'x-request-id': id })),
    raw('no Host header', `GET /person/${person.id} HTTP/1.1\r\nConnection: close\r\n\r\n`),
    raw('two Host headers', `GET /person/${person.id} HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n`),
    raw('garbage Host header', `GET /person/${person.id} HTTP/1.1\r\nHost: \u00ff@@/..\r\nConnection: close\r\n\r\n`),
    raw('Expect: garbage', http(`GET /person/${person.id} HTTP/1.1\r\nExpect: garbage`)),
    raw('Expect: 100-continue', http('POST /person HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue', `{${PERSON}}`)),
    raw('Upgrade: websocket', http(`GET /person/${person.id} HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==`)),
    raw('Upgrade: h2c', http(`GET /person/${person.id} HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__`)),
    get('Accept: application/xml', `/person/${person.id}`, 200, { accept: 'application/xml' }),
    get('Range header', `/person/${person.id}`, 200, { range: 'bytes=0-1' }),
    get('huge cookie', `/person/${person.id}`, 200, { cookie: `a=${'c'.repeat(8000)}` }),
    // ---- cursor and filter injection
    ...['garbage', `${cursorBody}.${cursorSig.slice(0, -1)}${cursorSig.endsWith('A') ? 'B' : 'A'}`, `${cursorBody.slice(0, -1)}${cursorBody.endsWith('A') ? 'B' : 'A'}.${cursorSig}`, `${bookCursor}.x`, cursorBody, `.${cursorSig}`, '.', 'x'.repeat(5000),
      Buffer.from('{"entity_id":{"S":"x"}}').toString('base64url'), `${Buffer.from('{"entity_id":{"S":"x"},"title":{"S":"x"}}').toString('base64url')}.${cursorSig}`, '%00', '\u00e9']
      .map((c, i) => get(`tampered cursor ${i}`, `/book?limit=1&cursor=${encodeURIComponent(c)}`, BAD)),
    get('cursor of another model', `/person?limit=1&cursor=${encodeURIComponent(bookCursor)}`, BAD),
    get('cursor of another filter', `/book?limit=1&author=x&cursor=${encodeURIComponent(bookCursor)}`, BAD),
    get('two cursors', `/book?limit=1&cursor=${encodeURIComponent(bookCursor)}&cursor=${encodeURIComponent(bookCursor)}`, BAD),
    ...['author=xx.Le Guin', 'author=eq.#n', 'author=:v', 'author=a) OR attribute_exists(entity_id', 'author=eq.x" OR "1"="1', 'title=size(title) > :v',
      'author=in.("a,b",c)', 'author=in.(a,"b', 'title=eq.x&title=ne.y', 'author=SELECT', 'status=ne.finished', 'author=Le Guin&title=exists.true&order=desc', 'author=Le Guin&title=exists.true']
      .map((q) => get(`filter ${q}`, `/book?${q.replaceAll(' ', '%20').replaceAll('"', '%22').replaceAll('#', '%23')}`, 200)),
    ...['author=eq.', 'author=ne.', 'title=gt.', 'author=begins_with.', 'rating=like.3', 'rating=between.5,1', 'rating=between.1', 'author=in.()', `author=in.(${Array.from({ length: 101 }, (_, i) => i).join(',')})`, 'rating=begins_with.1', 'status=exists.maybe',
      'rating=gt.1e400', 'rating=abc', 'rating=9', 'status=unknown', 'size=1', 'SELECT=1', 'title.x=1', 'order=asc', 'sort=title', 'fields=a,,b', 'fields=nope', 'limit=0', 'limit=101', 'limit=-1', 'limit=abc',
      'limit=1&limit=2', 'include_deleted=maybe', `author=${'a'.repeat(5000)}`, `${Array.from({ length: 11 }, () => 'author=a').join('&')}`, 'rating=exists.true&rating=exists.false&rating=in.()', 'active=false', 'entity_id=x', 'version=x']
      .map((q) => get(`bad filter ${q.slice(0, 40)}`, `/book?${q}`, BAD)),
    ...['rating=like.3', 'author=in.()', 'status=exists.maybe', '__proto__=1']
      .map((q) => get(`bad count filter ${q}`, `/book/count?${q}`, BAD)),
    get('as_of garbage', `/person/${person.id}?as_of=garbage`, BAD),
    get('as_of far future', `/person/${person.id}?as_of=9999-12-31T23:59:59Z`, 200),
    get('as_of year 0', `/person/${person.id}?as_of=0000-01-01T00:00:00Z`),
    get('as_of leap second', `/person/${person.id}?as_of=2026-12-31T23:59:60Z`),
    get('as_of with +25:00', `/person/${person.id}?as_of=2026-01-01T00:00:00%2B25:00`),
    get('versions from garbage', `/person/${person.id}/versions?from=garbage`, BAD),
    get('versions limit 0', `/person/${person.id}/versions?limit=0`, BAD),
    get('versions tampered cursor', `/person/${person.id}/versions?cursor=${encodeURIComponent(bookCursor)}`, BAD),
    get('query string of 12 KB', `/person?last_name=${'q'.repeat(12_000)}`),
    get('query string of 100 KB', `/person?last_name=${'q'.repeat(100_000)}`),
    // ---- path traversal
    ...['/person/../../etc/passwd', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/docs/../../package.json', '/docs/static/..%2f..%2f..%2fpackage.json', '/docs/static/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/docs/static/%2e%2e%2f%2e%2e%2fsrc%2fapp.ts', '/docs/static/....//....//package.json', '/docs/static/index.html%00.json', '/docs/static/..\\..\\package.json', '/person/%2F', '/person/..%2f..%2fetc%2fpasswd',
      '/openapi.json/..%2fsrc', '/.env', '/.git/config', '/node_modules/fastify/package.json', '/src/app.ts', '/dist/bin/server.js', '/package.json', '//person', '/person//x', '/person/./x', '/person/%2e']
      .map((p) => get(`path ${p}`, p, [BAD, 403, 404])),
    raw('backslash traversal in the request line', http('GET \\..\\..\\etc\\passwd HTTP/1.1'), { expect: [BAD, 404] }),
    raw('absolute-form request target', http('GET http://evil.example/person HTTP/1.1')),
    raw('asterisk-form OPTIONS', http('OPTIONS * HTTP/1.1')),
    // ---- methods not allowed, odd methods and protocols
    ...[['DELETE', '/person'], ['PUT', '/person'], ['PATCH', '/person'], ['POST', `/person/${person.id}`], ['POST', '/health/live'], ['DELETE', '/health/ready'], ['PUT', '/openapi.json'], ['TRACE', '/person'], ['OPTIONS', `/person/${person.id}`], ['PROPFIND', '/person'], ['SEARCH', '/person'], ['POST', `/person/${person.id}/versions`], ['PUT', `/person/${person.id}/versions/${person.version}`]]
      .map(([method = '', path = '']) => ({ label: `method ${method} ${path.slice(0, 20)}`, method, path, expect: [404, 405] })),
    { label: 'HEAD of an entity', method: 'HEAD', path: `/person/${person.id}`, expect: 200 },
    { label: 'HEAD of nothing', method: 'HEAD', path: '/nothing', expect: 404 },
    { label: 'HEAD of a bad id', method: 'HEAD', path: '/person/zz', expect: BAD },
    raw('CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', { expect: 404 }),
    raw('lowercase method', http('get /health/live HTTP/1.1'), { expect: BAD }),
    raw('unknown method BREW', http('BREW /person HTTP/1.1'), { expect: BAD }),
    raw('HTTP/1.0', `GET /person/${person.id} HTTP/1.0\r\n\r\n`, { expect: 200 }),
    raw('HTTP/2.0 in the request line', http('GET /person HTTP/2.0')),
    raw('HTTP/9.9', http('GET /person HTTP/9.9'), { expect: BAD }),
    raw('HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', { expect: BAD }),
    raw('TLS ClientHello', Buffer.from('16030100a5010000a10303', 'hex'), { expect: BAD }),
    // Not a request: closing the connection when the client closes its side is an answer of sorts.
    raw('no request line, then half-close', '\r\n\r\n', { halfClose: true, mayCloseWithoutAnswer: true }),
    raw('LF line endings', `GET /person/${person.id} HTTP/1.1\nHost: x\nConnection: close\n\n`),
    raw('space before a header colon', http(`GET /person/${person.id} HTTP/1.1\r\nX-A : b`), { expect: BAD }),
    raw('obsolete header folding', http(`GET /person/${person.id} HTTP/1.1\r\nX-A: a\r\n b`)),
    raw('pipelined request then garbage', 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE / HTTP/1.1\r\n\r\n'),
    raw('10 KB request target', http(`GET /person/${'a'.repeat(10_000)} HTTP/1.1`)),
    raw('request target of 20 KB', http(`GET /person?x=${'a'.repeat(20_000)} HTTP/1.1`), { expect: 431 })
  ]
  return cases
}
