/**
 * Cases below the schema: malformed bodies, wrong content types and methods, 10 MB bodies, depth,
 * alias, directive and token bombs through the schema's cycles, fragment cycles, deep nesting,
 * batches, junk variables and headers. None of them may write anything.
 */
import type { Random } from './random.js';
import { type Actor, expect4xx, type FuzzCase, post, type RawRequest } from './request.js';
import type { Fixtures } from './schema-cases.js';

type Case = Omit<FuzzCase, 'id' | 'writes'>;

const TEN_MB = 10 * 1024 * 1024;

export function protocolCases(fx: Fixtures, rng: Random, firstId: number): FuzzCase[] {
  const out: Case[] = [];
  const auth = (actor: Actor): Record<string, string> =>
    actor === 'anon' ? {} : { authorization: `Bearer ${(actor === 'owner' ? fx.owner : fx.stranger).token}` };
  const owner = auth('owner');
  const add = (group: string, target: string, request: RawRequest, actor: Actor = 'owner', extra: Partial<Case> = {}) =>
    out.push({ group, target, request, actor, ...extra });
  const fresh = (label: string) => `fuzz-${label.replace(/[^a-z0-9]+/gi, '-')}-${rng.int(0, 1e9)}@example.test`;
  const signUpQuery = (label: string) =>
    `mutation { signUp(email: "${fresh(label)}", password: "correct horse battery") { token } }`;
  // A row a case wrongly writes names the case.
  const createProject = (label: string) => `mutation { createProject(name: "fuzz protocol: ${label}") { id } }`;

  // Malformed JSON and JSON of the wrong shape.
  const junk: [string, string | Buffer][] = [
    ['empty body', ''],
    ['unterminated object', '{"query": "{ me { id } }"'],
    ['bare value null', 'null'],
    ['bare array', '[]'],
    ['bare string', '"{ me { id } }"'],
    ['bare number', '12345'],
    ['query is a number', '{"query": 123}'],
    ['query is null', '{"query": null}'],
    ['query is an object', '{"query": {"kind": "Document"}}'],
    ['variables is a string', '{"query": "query($id: ID!) { project(id: $id) { id } }", "variables": "x"}'],
    ['variables is an array', '{"query": "{ me { id } }", "variables": [1, 2]}'],
    ['operationName is a number', '{"query": "{ me { id } }", "operationName": 5}'],
    [
      'NaN literal in JSON',
      '{"query": "query($n: Int) { projects(first: $n) { pageInfo { hasNextPage } } }", "variables": {"n": NaN}}',
    ],
    [
      '1e999 in JSON',
      '{"query": "query($n: Int) { projects(first: $n) { pageInfo { hasNextPage } } }", "variables": {"n": 1e999}}',
    ],
    ['trailing garbage', '{"query": "{ me { id } }"} trailing'],
    ['byte order mark', '\ufeff{"query": "{ me { id } }"}'],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from('{"query": "{ me { id } }", "x": "'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]),
    ],
    ['UTF-16 body', Buffer.from('{"query": "{ me { id } }"}', 'utf16le')],
    ['200,000 nested arrays', `{"query": "{ me { id } }", "extensions": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`],
    [
      '50,000 nested objects in variables',
      `{"query": "{ me { id } }", "variables": {"v": ${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}}`,
    ],
    ['__proto__ in body', '{"__proto__": {"query": "{ me { id } }"}, "query": "{ me { id } }"}'],
    [
      '__proto__ in variables',
      '{"query": "query($id: ID!) { project(id: $id) { id } }", "variables": {"__proto__": {"id": "x"}}}',
    ],
    [
      '10,000 variables',
      JSON.stringify({
        query: '{ me { id } }',
        variables: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`v${i}`, i])),
      }),
    ],
    ['persisted query hash only', '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "deadbeef"}}}'],
    ['operationName not in document', '{"query": "query A { me { id } } query B { me { id } }", "operationName": "C"}'],
    ['two operations without a name', '{"query": "query A { me { id } } query B { me { id } }"}'],
    ['empty document', '{"query": ""}'],
    ['comment-only document', '{"query": "# nothing"}'],
  ];
  for (const [label, body] of junk)
    add('malformed body', label, {
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', ...owner },
      body,
    });

  // Content types and methods a browser form or a CSRF page can send: they must not run a mutation.
  const form = (q: string) => `query=${encodeURIComponent(q)}`;
  const boundary = `----fuzz${rng.int(1e6, 9e6)}`;
  const multipart = (operations: string, map = '{}') =>
    [
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n${map}\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
  const typed: [string, string, string, Actor][] = [
    ['text/plain signUp', 'text/plain', JSON.stringify({ query: signUpQuery('text/plain') }), 'anon'],
    ['text/plain createProject', 'text/plain;charset=UTF-8', JSON.stringify({ query: createProject('text/plain') }), 'owner'],
    ['form-urlencoded signUp', 'application/x-www-form-urlencoded', form(signUpQuery('form-urlencoded')), 'anon'],
    ['form-urlencoded createProject', 'application/x-www-form-urlencoded', form(createProject('form-urlencoded')), 'owner'],
    [
      'multipart signUp',
      `multipart/form-data; boundary=${boundary}`,
      multipart(JSON.stringify({ query: signUpQuery('multipart') })),
      'anon',
    ],
    ['multipart operations not JSON', `multipart/form-data; boundary=${boundary}`, multipart('this is { not json'), 'owner'],
    [
      'multipart map not JSON',
      `multipart/form-data; boundary=${boundary}`,
      multipart(JSON.stringify({ query: '{ me { id } }' }), '{{{'),
      'owner',
    ],
    [
      'multipart map to missing file',
      `multipart/form-data; boundary=${boundary}`,
      multipart(JSON.stringify({ query: '{ me { id } }', variables: { f: null } }), '{"0": ["variables.f"]}'),
      'owner',
    ],
    ['multipart without boundary', 'multipart/form-data', multipart('{}'), 'owner'],
    [
      'multipart truncated',
      `multipart/form-data; boundary=${boundary}`,
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query"`,
      'owner',
    ],
    ['application/graphql query', 'application/graphql', '{ me { id } }', 'owner'],
    ['application/xml', 'application/xml', '<query>{ me { id } }</query>', 'owner'],
    ['json content type, form body', 'application/json', form('{ me { id } }'), 'owner'],
    ['json with utf-16 charset', 'application/json; charset=utf-16', JSON.stringify({ query: '{ me { id } }' }), 'owner'],
    ['no content type', '', JSON.stringify({ query: createProject('no content type') }), 'owner'],
  ];
  for (const [label, type, body, actor] of typed)
    add(
      'content type',
      label,
      { method: 'POST', path: '/graphql', headers: { ...(type ? { 'content-type': type } : {}), ...auth(actor) }, body },
      actor,
    );

  const get = (q: Record<string, string>) => `/graphql?${new URLSearchParams(q).toString()}`;
  add('method', 'GET mutation', {
    method: 'GET',
    path: get({ query: createProject('GET') }),
    headers: { accept: 'application/json', ...owner },
  });
  add(
    'method',
    'GET signUp',
    { method: 'GET', path: get({ query: signUpQuery('GET') }), headers: { accept: 'application/json' } },
    'anon',
  );
  add('method', 'GET variables not JSON', {
    method: 'GET',
    path: get({ query: 'query($id: ID!) { project(id: $id) { id } }', variables: '{nope' }),
    headers: owner,
  });
  add('method', 'GET extensions not JSON', {
    method: 'GET',
    path: get({ query: '{ me { id } }', extensions: '[[[' }),
    headers: owner,
  });
  add('method', 'GET 12 KB query', {
    method: 'GET',
    path: get({ query: `{ me { id ${'__typename '.repeat(1100)} } }` }),
    headers: owner,
  });
  add(
    'method',
    'GET 100 KB URL',
    { method: 'GET', path: get({ query: `{ ${'me { id } '.repeat(10_000)} }` }), headers: owner },
    'owner',
    {
      // Node answers 431 to headers over its limit and may close before the client has read it.
      allowReset: true,
    },
  );
  for (const method of ['PUT', 'DELETE', 'PATCH'])
    add('method', `${method} mutation`, { ...post({ query: createProject(method) }, owner), method });
  add(
    'method',
    'OPTIONS preflight from another origin',
    {
      method: 'OPTIONS',
      path: '/graphql',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    },
    'anon',
  );
  add('method', 'subscription over POST', post({ query: 'subscription { myGenerations { percent } }' }, owner));

  // 10 MB bodies, with and without a Content-Length, through each content type.
  const bigString = 'x'.repeat(TEN_MB);
  const bigJson = `{"query": "mutation($n: String!) { createProject(name: $n) { id } }", "variables": {"n": "${bigString}"}}`;
  for (const chunked of [false, true]) {
    const how = chunked ? 'chunked' : 'content-length';
    add('10 MB body', `json ${how}`, { ...post(bigJson, owner), chunked }, 'owner', { allowReset: true, expect: expect4xx });
    add(
      '10 MB body',
      `text/plain ${how}`,
      { method: 'POST', path: '/graphql', headers: { 'content-type': 'text/plain', ...owner }, body: bigJson, chunked },
      'owner',
      { allowReset: true, expect: expect4xx },
    );
    add(
      '10 MB body',
      `form-urlencoded ${how}`,
      {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...owner },
        body: form(`{ me { id } } #${bigString}`),
        chunked,
      },
      'owner',
      { allowReset: true, expect: expect4xx },
    );
    add(
      '10 MB body',
      `multipart ${how}`,
      {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...owner },
        body: multipart(bigJson),
        chunked,
      },
      'owner',
      { allowReset: true, expect: expect4xx },
    );
    add(
      '10 MB body',
      `application/graphql ${how}`,
      {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/graphql', ...owner },
        body: `{ me { id } } #${bigString}`,
        chunked,
      },
      'owner',
      { allowReset: true, expect: expect4xx },
    );
  }

  // Depth bombs through the schema's cycles.
  const conversation = fx.owner.ids.Conversation;
  const messagesCycle = (depth: number, first: number) => {
    let inner = 'id';
    for (let i = 0; i < depth; i++)
      inner = `id messages(first: ${first}) { totalCount edges { node { id content conversation { ${inner} } } } }`;
    return `{ conversation(id: "${conversation}") { ${inner} } }`;
  };
  const tracksCycle = (depth: number) => {
    let inner = 'id';
    for (let i = 0; i < depth; i++) inner = `id name tracks { id project { ${inner} } }`;
    return `{ project(id: "${fx.owner.ids.Project}") { ${inner} } }`;
  };
  for (const [depth, first] of [
    [8, 2],
    [12, 1],
    [14, 2],
    [16, 1],
    [20, 1],
    [25, 2],
    [60, 1],
    [300, 1],
  ] as const)
    add(
      'depth bomb',
      `conversation.messages.conversation depth ${depth} first ${first}`,
      post({ query: messagesCycle(depth, first) }, owner),
    );
  for (const depth of [10, 30, 200])
    add('depth bomb', `project.tracks.project depth ${depth}`, post({ query: tracksCycle(depth) }, owner));
  add(
    'depth bomb',
    'node(message).conversation.messages depth 20',
    post(
      {
        query: `{ node(id: "${fx.owner.ids.Message}") { ... on Message { ${messagesCycle(20, 2)
          .slice(2, -2)
          .replace(/^conversation\(id: "[^"]+"\)/, 'conversation')} } } }`,
      },
      owner,
    ),
  );
  add(
    'depth bomb',
    '__type ofType depth 100',
    post(
      { query: `{ __type(name: "Project") { ${'fields { type { ofType { '.repeat(50)} name ${'} } }'.repeat(50)} } }` },
      owner,
    ),
  );

  // A crafted cursor on a connection below the root (the schema-derived cases cover the root ones).
  add(
    'crafted cursor',
    'conversation.messages(after: "GPC:S:notauuid")',
    post(
      {
        query: `{ conversation(id: "${conversation}") { messages(first: 5, after: "R1BDOlM6bm90YXV1aWQ=") { edges { cursor } } } }`,
      },
      owner,
    ),
  );

  // Alias, field, directive and token bombs.
  const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');
  add(
    'alias bomb',
    'conversations(first: 100) x 1,000',
    post(
      {
        query: `{ ${aliases(1000, 'conversations(first: 100) { edges { node { id title messages(first: 100) { edges { node { id content } } } } } }')} }`,
      },
      owner,
    ),
  );
  add(
    'alias bomb',
    'projects(first: 100) tracks x 1,000',
    post({ query: `{ ${aliases(1000, 'projects(first: 100) { edges { node { id tracks { id project { id } } } } }')} }` }, owner),
  );
  add('alias bomb', 'me x 20,000', post({ query: `{ ${aliases(20_000, 'me { id }')} }` }, owner));
  add(
    'alias bomb',
    'nodes(ids: 100 ids) x 100',
    post(
      { query: `{ ${aliases(100, `nodes(ids: [${Array(100).fill(`"${fx.owner.ids.Project}"`).join(',')}]) { id }`)} }` },
      owner,
    ),
  );
  add(
    'alias bomb',
    'createProject x 1,000',
    post({ query: `mutation { ${aliases(1000, 'createProject(name: "alias bomb") { id }')} }` }, owner),
  );
  add(
    'alias bomb',
    'signUp x 200',
    post({
      query: `mutation { ${Array.from({ length: 200 }, (_, i) => `a${i}: signUp(email: "${fresh('alias bomb')}", password: "correct horse battery") { token }`).join(' ')} }`,
    }),
    'anon',
  );
  add(
    'alias bomb',
    'logIn x 200',
    post({
      query: `mutation { ${aliases(200, `logIn(email: "${fx.stranger.email}", password: "wrong password!") { token }`)} }`,
    }),
    'anon',
  );
  add(
    'alias bomb',
    'generateBeat x 50',
    post(
      { query: `mutation { ${aliases(50, 'generateBeat(input: { genre: "lofi", bpm: 90, key: "A minor" }) { id }')} }` },
      owner,
    ),
  );
  add(
    'alias bomb',
    'sendMessage x 100',
    post(
      {
        query: `mutation { ${aliases(100, `sendMessage(conversationId: "${conversation}", content: "alias bomb") { userMessage { id } }`)} }`,
      },
      owner,
    ),
  );
  add('field bomb', 'id x 50,000', post({ query: `{ me { ${'id '.repeat(50_000)} } }` }, owner));
  add('field bomb', '__typename x 80,000', post({ query: `{ ${'__typename '.repeat(80_000)} }` }, owner));
  add('directive bomb', '@include x 5,000', post({ query: `{ me ${'@include(if: true) '.repeat(5000)} { id } }` }, owner));
  add('directive bomb', 'unknown directive x 5,000', post({ query: `{ me ${'@fuzz '.repeat(5000)} { id } }` }, owner));

  // Fragments: cycles, deep chains, fan-out, and 5,000 nested inline fragments.
  add(
    'fragment cycle',
    'A -> B -> A',
    post({ query: 'query { ...A } fragment A on Query { me { id } ...B } fragment B on Query { ...A }' }, owner),
  );
  add('fragment cycle', 'self spread', post({ query: 'query { ...A } fragment A on Query { me { id } ...A }' }, owner));
  add('fragment cycle', 'undefined fragment', post({ query: 'query { ...Missing }' }, owner));
  const chain = Array.from(
    { length: 2000 },
    (_, i) => `fragment F${i} on Query { ${i === 1999 ? 'me { id }' : `...F${i + 1}`} }`,
  ).join(' ');
  add('fragment chain', '2,000 fragments deep', post({ query: `query { ...F0 } ${chain}` }, owner));
  const fan = Array.from(
    { length: 40 },
    (_, i) => `fragment G${i} on Query { ${i === 39 ? 'me { id }' : `...G${i + 1} ...G${i + 1} a${i}: me { id }`} }`,
  ).join(' ');
  add('fragment fan-out', '2^40 spreads', post({ query: `query { ...G0 } ${fan}` }, owner));
  for (const n of [5000, 20_000])
    add(
      'nested inline fragments',
      `${n} levels`,
      post({ query: `{ ${'... on Query { '.repeat(n)} me { id } ${'} '.repeat(n)} }` }, owner),
    );
  add(
    'deep nesting',
    '20,000 nested selections',
    post({ query: `{ me ${'{ id '.repeat(20_000)}${'} '.repeat(20_000)} }` }, owner),
  );
  add(
    'deep nesting',
    '10,000 nested list literal',
    post({ query: `{ nodes(ids: ${'['.repeat(10_000)}"x"${']'.repeat(10_000)}) { id } }` }, owner),
  );
  add(
    'deep nesting',
    '10,000 nested object literal',
    post({ query: `mutation { generateBeat(input: ${'{ genre: '.repeat(10_000)}"x"${' }'.repeat(10_000)}) { id } }` }, owner),
  );

  // Batches: GraphQL over HTTP has none; an array must not run its mutations.
  const batch = (n: number, query: string) => JSON.stringify(Array.from({ length: n }, () => ({ query })));
  add('batched array', '1 query', post(batch(1, '{ me { id } }'), owner));
  add(
    'batched array',
    '100 queries',
    post(batch(100, '{ projects(first: 100) { edges { node { id tracks { id } } } } }'), owner),
  );
  add('batched array', '2,000 queries', post(batch(2000, '{ me { id } }'), owner));
  add('batched array', '50 anonymous createProject', post(batch(50, createProject('batch'))), 'anon');
  add(
    'batched array',
    '20 invalid generateBeat',
    post(batch(20, 'mutation { generateBeat(input: { genre: "lofi", bpm: 39, key: "A minor" }) { id } }'), owner),
  );
  add('batched array', 'junk elements', post('[1, "x", null, [], {"query": 5}]', owner));

  // Variables declared with the wrong type for the argument, and operation names.
  add(
    'variables',
    'ID variable used as Int',
    post({ query: 'query($n: ID) { projects(first: $n) { pageInfo { hasNextPage } } }', variables: { n: '5' } }, owner),
  );
  add(
    'variables',
    'String variable for GenerateBeatInput',
    post({ query: 'mutation($i: String) { generateBeat(input: $i) { id } }', variables: { i: '{}' } }, owner),
  );
  add(
    'variables',
    'undeclared variable',
    post({ query: '{ project(id: $id) { id } }', variables: { id: fx.owner.ids.Project } }, owner),
  );
  add('variables', 'unused variables', post({ query: '{ me { id } }', variables: { a: 'x'.repeat(100_000) } }, owner));
  for (let i = 0; i < 5; i++)
    add('operation names', `random name ${i}`, post({ query: `query Op_${rng.uuid().replace(/-/g, '_')} { me { id } }` }, owner));
  add('operation names', '10,000-character name', post({ query: `query ${'N'.repeat(10_000)} { me { id } }` }, owner));

  // Credentials and forwarded headers.
  const jwtNone = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', role: 'ADMIN' })).toString('base64url')}.`;
  const [h = '', , s = ''] = fx.owner.token.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'forged', role: 'ADMIN', exp: 9999999999 })).toString('base64url')}.${s}`;
  for (const [label, value] of [
    ['empty bearer', 'Bearer '],
    ['bearer garbage', 'Bearer garbage'],
    ['three dots', 'Bearer a.b.c'],
    ['basic auth', 'Basic Zm9vOmJhcg=='],
    ['alg none', `Bearer ${jwtNone}`],
    ['payload swapped', `Bearer ${forged}`],
    ['8 KB token', `Bearer ${'a'.repeat(8000)}`],
    ['percent-encoded nul', 'Bearer abc%00def'],
  ] as const)
    add('credentials', label, post({ query: createProject(label) }, { authorization: value }), 'anon');
  add(
    'headers',
    'x-forwarded-for junk',
    post({ query: '{ me { id } }' }, { ...owner, 'x-forwarded-for': 'not-an-ip, <script>, ::1, 999.1.1.1' }),
  );
  add(
    'headers',
    'x-forwarded-for 1,000 hops',
    post(
      { query: '{ me { id } }' },
      { ...owner, 'x-forwarded-for': Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(', ') },
    ),
  );
  add('headers', 'accept junk', post({ query: '{ me { id } }' }, { ...owner, accept: 'application/xml;q=2, */*;q=abc' }));
  add('headers', 'accept multipart/mixed', post({ query: '{ me { id } }' }, { ...owner, accept: 'multipart/mixed' }));

  return out.map((c, i) => ({ ...c, id: firstId + i, writes: 'none' }));
}
