/**
 * The access matrix (issue 10): every query, mutation and subscription argument that takes an id,
 * tried by another user and by no one (over graphql-ws: refused at connection_init), against a full set of one user's objects. The list of
 * id arguments comes from the schema, so a new one without a case here fails the test.
 *
 * 0 leaks means: another user gets NOT_FOUND (null from node/nodes), exactly as for an id that
 * does not exist, so existence is not revealed; no one gets UNAUTHENTICATED; no response carries
 * the owner's data; no row anywhere changes. Signed file URLs: tampered, expired and re-keyed
 * URLs are 403.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GraphQLInputType, getNamedType, isInputObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId, encodeGlobalId } from '../../src/graphql/ids.js';
import { schema } from '../../src/graphql/schema.js';
import { storageKeys } from '../../src/storage/index.js';
import {
  codes,
  collect,
  freePort,
  type GqlResponse,
  gql,
  type RunningApp,
  signUp,
  startApp,
  type TestUser,
  until,
  wsClient,
} from '../helpers/harness.js';

/** `Type.field.arg` (and `.inputField` below it) for every argument that is or holds an ID. */
function idArguments(): string[] {
  const paths = (type: GraphQLInputType, prefix: string, seen: Set<string>): string[] => {
    const named = getNamedType(type);
    if (named.name === 'ID') return [prefix];
    if (!isInputObjectType(named) || seen.has(named.name)) return [];
    const inner = new Set([...seen, named.name]);
    return Object.values(named.getFields()).flatMap((f) => paths(f.type, `${prefix}.${f.name}`, inner));
  };
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  return roots.flatMap((root) =>
    Object.values(root?.getFields() ?? {}).flatMap((field) =>
      field.args.flatMap((arg) => paths(arg.type, `${root?.name}.${field.name}.${arg.name}`, new Set())),
    ),
  );
}

/** The owner's objects (global ids) and the other user's own, for arguments that must be valid. */
interface Fixtures {
  project: string;
  track: string;
  conversation: string;
  message: string;
  generation: string;
  user: string;
  bobProject: string;
  bobConversation: string;
  bobGeneration: string;
  /** A READY upload in the owner's project. */
  upload: string;
}

/** One try: an operation and its variables, given whose objects the id arguments name. */
interface Case {
  op: string;
  vars: (f: Fixtures) => Record<string, unknown>;
  /** node/nodes answer null for what cannot be seen; everything else NOT_FOUND. */
  nullData?: boolean;
}

const CASES: Record<string, Case> = {
  'Query.conversation.id': {
    op: 'query($id: ID!) { conversation(id: $id) { id title } }',
    vars: (f) => ({ id: f.conversation }),
  },
  'Query.generation.id': { op: 'query($id: ID!) { generation(id: $id) { id input } }', vars: (f) => ({ id: f.generation }) },
  'Query.project.id': { op: 'query($id: ID!) { project(id: $id) { id name } }', vars: (f) => ({ id: f.project }) },
  'Query.node.id': {
    op: 'query($a: ID!, $b: ID!, $c: ID!, $d: ID!, $e: ID!, $u: ID!, $f: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } c: node(id: $c) { id } d: node(id: $d) { id } e: node(id: $e) { id } u: node(id: $u) { id } f: node(id: $f) { id } }',
    vars: (f) => ({ a: f.project, b: f.track, c: f.conversation, d: f.message, e: f.generation, u: f.user, f: f.upload }),
    nullData: true,
  },
  'Query.nodes.ids': {
    op: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
    vars: (f) => ({ ids: [f.project, f.track, f.conversation, f.message, f.generation, f.user, f.upload] }),
    nullData: true,
  },
  'Mutation.createUpload.projectId': {
    op: 'mutation($p: ID) { createUpload(filename: "a.wav", contentType: "audio/wav", bytes: 1000, projectId: $p) { url } }',
    vars: (f) => ({ p: f.project }),
  },
  'Mutation.completeUpload.id': {
    op: 'mutation($id: ID!) { completeUpload(id: $id) { id filename } }',
    vars: (f) => ({ id: f.upload }),
  },
  'Mutation.addTrack.uploadId': {
    op: 'mutation($p: ID!, $u: ID) { addTrack(projectId: $p, uploadId: $u) { id } }',
    vars: (f) => ({ p: f.bobProject, u: f.upload }),
  },
  'Mutation.masterTrack.uploadId': {
    op: 'mutation($u: ID) { masterTrack(uploadId: $u) { id } }',
    vars: (f) => ({ u: f.upload }),
  },
  'Mutation.addTrack.projectId': {
    op: 'mutation($p: ID!, $g: ID) { addTrack(projectId: $p, generationId: $g) { id } }',
    vars: (f) => ({ p: f.project, g: f.bobGeneration }),
  },
  'Mutation.addTrack.generationId': {
    op: 'mutation($p: ID!, $g: ID) { addTrack(projectId: $p, generationId: $g) { id } }',
    vars: (f) => ({ p: f.bobProject, g: f.generation }),
  },
  'Mutation.cancelGeneration.id': {
    op: 'mutation($id: ID!) { cancelGeneration(id: $id) { id } }',
    vars: (f) => ({ id: f.generation }),
  },
  'Mutation.retryGeneration.id': {
    op: 'mutation($id: ID!) { retryGeneration(id: $id) { id } }',
    vars: (f) => ({ id: f.generation }),
  },
  'Mutation.createStems.generationId': {
    op: 'mutation($id: ID!) { createStems(generationId: $id) { id } }',
    vars: (f) => ({ id: f.generation }),
  },
  'Mutation.masterTrack.generationId': {
    op: 'mutation($id: ID) { masterTrack(generationId: $id, targetLufs: -12) { id } }',
    vars: (f) => ({ id: f.generation }),
  },
  'Mutation.mixProject.projectId': {
    op: 'mutation($id: ID!) { mixProject(projectId: $id) { id } }',
    vars: (f) => ({ id: f.project }),
  },
  'Mutation.createConversation.projectId': {
    op: 'mutation($p: ID) { createConversation(title: "mine", projectId: $p) { id } }',
    vars: (f) => ({ p: f.project }),
  },
  'Mutation.renameConversation.id': {
    op: 'mutation($id: ID!) { renameConversation(id: $id, title: "taken") { id } }',
    vars: (f) => ({ id: f.conversation }),
  },
  'Mutation.deleteConversation.id': {
    op: 'mutation($id: ID!) { deleteConversation(id: $id) }',
    vars: (f) => ({ id: f.conversation }),
  },
  'Mutation.sendMessage.conversationId': {
    op: 'mutation($id: ID!) { sendMessage(conversationId: $id, content: "make a trap beat") { userMessage { id } } }',
    vars: (f) => ({ id: f.conversation }),
  },
  'Mutation.generateBeat.input.projectId': {
    op: `mutation($p: ID) { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", projectId: $p }) { id } }`,
    vars: (f) => ({ p: f.project }),
  },
  'Mutation.updateProject.id': {
    op: 'mutation($id: ID!) { updateProject(id: $id, name: "taken") { id } }',
    vars: (f) => ({ id: f.project }),
  },
  'Mutation.deleteProject.id': { op: 'mutation($id: ID!) { deleteProject(id: $id) }', vars: (f) => ({ id: f.project }) },
  'Mutation.updateTrack.id': {
    op: 'mutation($id: ID!) { updateTrack(id: $id, muted: true) { id } }',
    vars: (f) => ({ id: f.track }),
  },
  'Mutation.removeTrack.id': { op: 'mutation($id: ID!) { removeTrack(id: $id) }', vars: (f) => ({ id: f.track }) },
  'Mutation.addProjectMember.projectId': {
    op: 'mutation($p: ID!) { addProjectMember(projectId: $p, email: "nobody@example.test", role: VIEWER) { role } }',
    vars: (f) => ({ p: f.project }),
  },
  'Mutation.updateProjectMember.projectId': {
    op: 'mutation($p: ID!, $u: ID!) { updateProjectMember(projectId: $p, userId: $u, role: VIEWER) { role } }',
    vars: (f) => ({ p: f.project, u: f.user }),
  },
  // On the caller's own project, a user who is not a member of it.
  'Mutation.updateProjectMember.userId': {
    op: 'mutation($p: ID!, $u: ID!) { updateProjectMember(projectId: $p, userId: $u, role: VIEWER) { role } }',
    vars: (f) => ({ p: f.bobProject, u: f.user }),
  },
  'Mutation.removeProjectMember.projectId': {
    op: 'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }',
    vars: (f) => ({ p: f.project, u: f.user }),
  },
  'Mutation.removeProjectMember.userId': {
    op: 'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }',
    vars: (f) => ({ p: f.bobProject, u: f.user }),
  },
  'Mutation.leaveProject.projectId': { op: 'mutation($p: ID!) { leaveProject(projectId: $p) }', vars: (f) => ({ p: f.project }) },
  'Subscription.chatStream.conversationId': {
    op: 'subscription($c: ID!) { chatStream(conversationId: $c, fromIndex: 0) { delta message { content } } }',
    vars: (f) => ({ c: f.conversation }),
  },
  'Subscription.chatStream.messageId': {
    op: 'subscription($c: ID!, $m: ID) { chatStream(conversationId: $c, fromIndex: 0, messageId: $m) { delta message { content } } }',
    vars: (f) => ({ c: f.bobConversation, m: f.message }),
  },
  'Subscription.generationProgress.id': {
    op: 'subscription($id: ID!) { generationProgress(id: $id) { percent generation { input } } }',
    vars: (f) => ({ id: f.generation }),
  },
  'Subscription.messageAdded.conversationId': {
    op: 'subscription($c: ID!) { messageAdded(conversationId: $c) { content } }',
    vars: (f) => ({ c: f.conversation }),
  },
  'Subscription.projectUpdated.projectId': {
    op: 'subscription($p: ID!) { projectUpdated(projectId: $p) { name } }',
    vars: (f) => ({ p: f.project }),
  },
  'Subscription.projectEvents.projectId': {
    op: 'subscription($p: ID!) { projectEvents(projectId: $p) { kind present { email } } }',
    vars: (f) => ({ p: f.project }),
  },
};

/** What only the owner's data contains; no response to anyone else may carry it. */
const SECRET = 'alice-secret-7f3a';

let api: RunningApp;
let storageDir: string;
let alice: TestUser;
let bob: TestUser;
let own: Fixtures;
/** The same shapes with ids of rows that do not exist: another user's must look exactly like these. */
let missing: Fixtures;

const uuidOf = (globalId: string) => decodeGlobalId(globalId, 'id').id;
const run = (c: Case, f: Fixtures, user: TestUser | null) => gql(api.graphqlUrl, c.op, c.vars(f), user?.token);

/**
 * Every row either user of this file has or could come to have, in a stable order, to show that
 * nothing changed. (Only theirs: other test files write to the same database meanwhile.)
 */
async function snapshot() {
  const p = api.app.prisma;
  const users = [alice, bob].map((u) => uuidOf(u.id));
  const byId = { orderBy: { id: 'asc' as const } };
  return JSON.stringify(
    await Promise.all([
      p.user.findMany({ ...byId, where: { id: { in: users } } }),
      p.project.findMany({ ...byId, where: { ownerId: { in: users } } }),
      p.track.findMany({ ...byId, where: { project: { ownerId: { in: users } } } }),
      p.conversation.findMany({ ...byId, where: { userId: { in: users } } }),
      p.message.findMany({ ...byId, where: { conversation: { userId: { in: users } } } }),
      p.generation.findMany({ ...byId, where: { userId: { in: users } } }),
      p.upload.findMany({ ...byId, where: { userId: { in: users } } }),
    ]),
  );
}

/** The first result of a subscription: its error codes, or the events if it answered. */
async function subscribe(c: Case, f: Fixtures, user: TestUser | null) {
  const { client } = wsClient(api.wsUrl, user ? user.token : undefined);
  const sub = collect(client, c.op, c.vars(f));
  try {
    await until(() => sub.errors.length > 0 || sub.events.length > 0, 5_000);
    const first = sub.errors[0] as { extensions?: { code?: string } }[] | { code?: number } | undefined;
    return {
      codes: Array.isArray(first) ? first.map((e) => e.extensions?.code) : first ? [`close ${String(first.code)}`] : [],
      events: sub.events,
    };
  } finally {
    sub.dispose();
    await client.dispose();
  }
}

/** Codes with the id-bearing message text dropped, to compare another user's answer with a missing row's. */
const shape = (res: GqlResponse) => ({
  codes: codes(res),
  data: res.data,
  messages: (res.errors ?? []).map((e) => e.message.replace(/[0-9a-f-]{36}|[A-Za-z0-9+/=]{40,}/g, '<id>')),
});

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'dawg-access-'));
  const port = await freePort();
  api = await startApp({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, STORAGE_DIR: storageDir });
  [alice, bob] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
  const q = (query: string, variables: Record<string, unknown> = {}, user = alice) =>
    gql(api.graphqlUrl, query, variables, user.token).then((r) => {
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      return r.data;
    });

  // A finished generation with its files, made as the worker would (no worker needed here).
  const finished = async (user: TestUser) => {
    const userId = uuidOf(user.id);
    const g = await api.app.prisma.generation.create({
      data: { userId, type: 'BEAT', status: 'COMPLETED', progress: 100, input: { genre: 'lofi', mood: SECRET } },
    });
    const files = { mp3: storageKeys.beatMp3(userId, g.id), wav: storageKeys.beatWav(userId, g.id) };
    await api.app.services.storage.put(files.mp3, Buffer.from(`${SECRET} mp3`), 'audio/mpeg');
    await api.app.services.storage.put(files.wav, Buffer.from(`${SECRET} wav`), 'audio/wav');
    const output = {
      format: 'mp3',
      files: { ...files, midi: null, stems: [] },
      durationSec: 5,
      loudnessLufs: -14,
      truePeakDb: -1,
      targetLufs: -14,
    };
    await api.app.prisma.generation.update({ where: { id: g.id }, data: { output } });
    return encodeGlobalId('Generation', g.id);
  };

  const project = (await q(`mutation { createProject(name: "${SECRET} project") { id } }`)).createProject.id;
  const generation = await finished(alice);
  const track = (
    await q('mutation($p: ID!, $g: ID!) { addTrack(projectId: $p, generationId: $g) { id } }', { p: project, g: generation })
  ).addTrack.id;
  const conversation = (
    await q(`mutation($p: ID) { createConversation(title: "${SECRET} chat", projectId: $p) { id } }`, { p: project })
  ).createConversation.id;
  const sent = await q(
    'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { assistantMessage { id } } }',
    {
      c: conversation,
      t: `hello ${SECRET}`,
    },
  );
  const message = sent.sendMessage.assistantMessage.id;
  // The reply has streamed (its chunks are stored for replay) before anyone tries to read it.
  await until(
    async () => (await api.app.prisma.message.findUnique({ where: { id: uuidOf(message) } }))?.status === 'COMPLETE',
    15_000,
  );

  const bobProject = (await q('mutation { createProject(name: "bob") { id } }', {}, bob)).createProject.id;
  const bobConversation = (await q('mutation { createConversation(title: "bob") { id } }', {}, bob)).createConversation.id;
  own = {
    project,
    track,
    conversation,
    message,
    generation,
    user: alice.id,
    bobProject,
    bobConversation,
    bobGeneration: await finished(bob),
    // A READY upload in the owner's project, as the worker leaves one (no worker needed here).
    upload: encodeGlobalId(
      'Upload',
      (
        await api.app.prisma.upload.create({
          data: {
            userId: uuidOf(alice.id),
            projectId: uuidOf(project),
            key: storageKeys.upload(uuidOf(alice.id), '00000000-0000-4000-8000-00000000beef', 'wav'),
            filename: `${SECRET}.wav`,
            contentType: 'audio/wav',
            size: 1000,
            status: 'READY',
            durationSec: 5,
          },
        })
      ).id,
    ),
  };
  const none = '00000000-0000-4000-8000-000000000000';
  missing = {
    ...own,
    project: encodeGlobalId('Project', none),
    track: encodeGlobalId('Track', none),
    conversation: encodeGlobalId('Conversation', none),
    message: encodeGlobalId('Message', none),
    generation: encodeGlobalId('Generation', none),
    user: encodeGlobalId('User', none),
    upload: encodeGlobalId('Upload', none),
  };
}, 60_000);

afterAll(async () => {
  await api.stop();
  await rm(storageDir, { recursive: true, force: true });
});

describe('access matrix', () => {
  it('has a case for every argument of the schema that takes an id', () => {
    const uncovered = idArguments().filter((path) => !(path in CASES));
    expect(uncovered).toEqual([]);
    expect(Object.keys(CASES).filter((path) => !idArguments().includes(path))).toEqual([]);
  });

  it('the owner reaches every object the matrix tries (so a refusal below is the rule, not a broken case)', async () => {
    for (const path of ['Query.conversation.id', 'Query.generation.id', 'Query.project.id', 'Query.nodes.ids']) {
      const res = await run(CASES[path] as Case, own, alice);
      expect(res.errors, path).toBeUndefined();
      expect(JSON.stringify(res.data), path).not.toContain('null');
    }
  });

  const queriesAndMutations = Object.entries(CASES).filter(([path]) => !path.startsWith('Subscription.'));

  it.each(queriesAndMutations)('%s: another user gets what a missing id gets, and no one is refused', async (_path, c) => {
    const before = await snapshot();
    const foreign = await run(c, own, bob);
    const absent = await run(c, missing, bob);
    const anonymous = await run(c, own, null);
    expect(await snapshot()).toEqual(before);

    for (const res of [foreign, anonymous]) expect(JSON.stringify(res)).not.toContain(SECRET);
    if (c.nullData) {
      expect(foreign.errors).toBeUndefined();
      expect(JSON.stringify(foreign.data)).toMatch(/^\{("\w+":null,?)+\}$|^\{"nodes":\[(null,?)+\]\}$/);
    } else {
      expect(codes(foreign)).toEqual(['NOT_FOUND']);
    }
    expect(shape(foreign)).toEqual(shape(absent));
    expect(codes(anonymous).length).toBeGreaterThan(0);
    expect(new Set(codes(anonymous))).toEqual(new Set(['UNAUTHENTICATED']));
  });

  const subscriptions = Object.entries(CASES).filter(([path]) => path.startsWith('Subscription.'));

  it.each(subscriptions)('%s: another user gets NOT_FOUND and no event; no one is refused', async (_path, c) => {
    const foreign = await subscribe(c, own, bob);
    expect(foreign.events).toEqual([]);
    expect(foreign.codes).toEqual(['NOT_FOUND']);
    expect((await subscribe(c, missing, bob)).codes).toEqual(['NOT_FOUND']);
    // Without a token the socket is refused at connection_init (4403), before any subscribe.
    const anonymous = await subscribe(c, own, null);
    expect(anonymous.events).toEqual([]);
    expect(anonymous.codes).toEqual(['close 4403']);
  });
});

describe('signed file URLs', () => {
  const OUTPUT = 'query($id: ID!) { generation(id: $id) { output { audioUrl wavUrl } } }';
  const urls = async (user: TestUser, id: string) => {
    const res = await gql(api.graphqlUrl, OUTPUT, { id }, user.token);
    return { audio: new URL(res.data.generation.output.audioUrl), wav: new URL(res.data.generation.output.wavUrl) };
  };

  it('serve the signed key only, unexpired and untampered; every other URL is 403 and reveals nothing', async () => {
    const mine = await urls(alice, own.generation);
    const theirs = await urls(bob, own.bobGeneration);
    const ok = await fetch(mine.audio);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe(`${SECRET} mp3`);

    const refused: URL[] = [];
    // Tampered signature.
    const tampered = new URL(mine.audio);
    const sig = tampered.searchParams.get('signature') as string;
    tampered.searchParams.set('signature', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
    refused.push(tampered);
    // No signature, or no expiry.
    const unsigned = new URL(mine.audio);
    unsigned.searchParams.delete('signature');
    refused.push(unsigned);
    const noExpiry = new URL(mine.audio);
    noExpiry.searchParams.delete('expires');
    refused.push(noExpiry);
    // A later expiry than was signed.
    const extended = new URL(mine.audio);
    extended.searchParams.set('expires', String(Number(extended.searchParams.get('expires')) + 3600));
    refused.push(extended);
    // Another key under a valid signature: the owner's other file, and another user's file.
    for (const other of [mine.wav, theirs.audio]) {
      const rekeyed = new URL(mine.audio);
      rekeyed.pathname = other.pathname;
      refused.push(rekeyed);
    }
    const bobsOnAlicesPath = new URL(theirs.audio);
    bobsOnAlicesPath.pathname = mine.audio.pathname;
    refused.push(bobsOnAlicesPath);
    // Out of the storage directory.
    const outside = new URL(mine.audio);
    outside.pathname = '/files/generated/..%2F..%2F..%2Fetc%2Fpasswd';
    refused.push(outside);
    // Expired.
    const key = decodeURIComponent(mine.audio.pathname.slice('/files/'.length));
    refused.push(new URL(await api.app.services.storage.signedUrl(key, { expiresInSec: -1 })));

    for (const url of refused) {
      const res = await fetch(url);
      const body = await res.text();
      expect([400, 403], url.toString()).toContain(res.status);
      expect(body).not.toContain(SECRET);
    }
  });
});
